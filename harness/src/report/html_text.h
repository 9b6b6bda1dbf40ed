// SPDX-License-Identifier: GPL-2.0-only
// Text for HTML pages: escaping record text, link targets, and images as data: URIs.
#pragma once

#include <string>
#include <string_view>

namespace memplace {

// &, <, >, " and ' as entities; control characters other than tab and newline dropped.
std::string html_escape(std::string_view s);

// A relative link target: every byte outside [A-Za-z0-9._~+/-] percent-encoded, so a name from
// a results dir can neither end the attribute nor become a scheme ("javascript:").
std::string href_escape(std::string_view path);

std::string base64(std::string_view bytes);

// "data:MIME;base64,..." for an image a page carries inside itself.
std::string data_uri(std::string_view mime, std::string_view bytes);

}  // namespace memplace
