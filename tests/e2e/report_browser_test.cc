// SPDX-License-Identifier: GPL-2.0-only
// report.html in a real browser: Debian's chromium, headless. `memplace report` writes the page
// for the fixture testbed dir; chromium then shows that it renders (a screenshot far richer than
// a blank page's), that every <img> decoded, that the tables hold the rows the fixture implies,
// and that nothing went to the console. Skips only when chromium or matplotlib is absent.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>

#include "base/subprocess.h"
#include "golden.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;
using memplace::testing::slurp;

const char* kChromium = "/usr/bin/chromium";

// Counted after the load event and written into the title, which --dump-dom prints. Errors:
// script errors, resources that failed to load, CSP refusals, console.error calls.
const char* kCheckScript = R"js(<script>
var errors = [];
window.addEventListener('error', function (e) {
  errors.push(e.message || (e.target && (e.target.tagName + ' ' + String(e.target.src).slice(0, 40))));
}, true);
document.addEventListener('securitypolicyviolation', function (e) { errors.push('csp ' + e.violatedDirective); });
var consoleError = console.error;
console.error = function () { errors.push('console.error'); consoleError.apply(console, arguments); };
window.addEventListener('load', function () {
  var imgs = document.images, decoded = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) decoded++;
  function n(selector) { return document.querySelectorAll(selector).length; }
  document.title = 'CHECK imgs=' + imgs.length + ' decoded=' + decoded +
    ' memused=' + n('table.memused') + ' memused_rows=' + n('table.memused tbody tr') +
    ' kernel_rows=' + n('table.kernels tbody tr') + ' grid_rows=' + n('table.grid tbody tr') +
    ' cells=' + n('article.cell') + ' errors=' + errors.length + ' [' + errors.join('; ') + ']';
});
</script>)js";

class ReportInBrowser : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists(kChromium))
      GTEST_SKIP() << kChromium << " is absent (Debian's chromium; scripts/install-deps.sh)";
    auto mpl = run_command({"/usr/bin/python3", "-c", "import matplotlib"});
    if (!mpl || mpl->exit_code != 0)
      GTEST_SKIP() << "/usr/bin/python3 has no matplotlib, so the page would have no charts";
    dir_ = fs::temp_directory_path() / ("memplace-browser-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy(fs::path(MEMPLACE_FIXTURES) / "testbed", dir_ / "tb", fs::copy_options::recursive);
    auto made = run_command({MEMPLACE_BINARY, "report", (dir_ / "tb").string()});
    ASSERT_TRUE(made.ok());
    ASSERT_EQ(made->exit_code, 0) << made->err;
  }
  void TearDown() override { fs::remove_all(dir_); }

  CommandOutput chromium(const std::vector<std::string>& args, const fs::path& page) {
    std::vector<std::string> argv = {kChromium, "--headless", "--no-sandbox", "--disable-gpu",
                                     "--user-data-dir=" + (dir_ / "profile").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("file://" + page.string());
    auto r = run_command(argv);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : CommandOutput{};
  }
  fs::path dir_;
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

TEST_F(ReportInBrowser, RendersWithEveryImageDecodedAndTheFixtureRows) {
  // A copy with the check script; the page's CSP is kept, only widened to let the check run.
  std::string html = slurp((dir_ / "tb" / "report.html").string());
  const std::string csp = "default-src 'none';";
  ASSERT_NE(html.find(csp), std::string::npos);
  html.replace(html.find(csp), csp.size(), csp + " script-src 'unsafe-inline';");
  html.replace(html.find("<title>"), 0, kCheckScript);
  std::ofstream(dir_ / "tb" / "check.html") << html;
  CommandOutput dom =
      chromium({"--virtual-time-budget=5000", "--dump-dom"}, dir_ / "tb" / "check.html");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(dom.out, m, std::regex("<title>(CHECK [^<]*)</title>")))
      << dom.out.substr(0, 2000) << dom.err;
  std::string check = m[1];
  // The fixture: two kernels, each with bind:1 and interleave:0-1 on anon and guest_memfd
  // (host toucher, one repeat); no samples, so no timeline chart.
  EXPECT_NE(check.find("imgs=4 decoded=4 "), std::string::npos) << check;
  EXPECT_NE(check.find(" memused=8 memused_rows=24 "), std::string::npos) << check;
  EXPECT_NE(check.find(" kernel_rows=2 grid_rows=4 cells=4 "), std::string::npos) << check;
  EXPECT_NE(check.find(" errors=0 "), std::string::npos) << check;
}

TEST_F(ReportInBrowser, ScreenshotIsNotBlankAndConsoleStaysQuiet) {
  std::ofstream(dir_ / "blank.html") << "<!DOCTYPE html><html><body></body></html>";
  const std::string size = "--window-size=1280,2000";
  chromium({"--screenshot=" + (dir_ / "blank.png").string(), size}, dir_ / "blank.html");
  CommandOutput shot = chromium(
      {"--screenshot=" + (dir_ / "page.png").string(), size, "--enable-logging=stderr", "--v=0"},
      dir_ / "tb" / "report.html");
  std::string png = slurp((dir_ / "page.png").string());
  std::string blank = slurp((dir_ / "blank.png").string());
  ASSERT_GT(png.size(), 24u) << shot.err;
  ASSERT_GT(blank.size(), 24u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  EXPECT_EQ(be32(png, 16), 1280u);
  // Text, tables and charts compress far worse than one white area.
  EXPECT_GT(png.size(), 10 * blank.size()) << png.size() << " vs blank " << blank.size();
  // The page has no script, so any console line (a CSP refusal, a failed load) is a fault.
  EXPECT_EQ(shot.err.find(":CONSOLE"), std::string::npos) << shot.err;
}

}  // namespace
}  // namespace memplace
