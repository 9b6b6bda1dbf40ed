// SPDX-License-Identifier: GPL-2.0-only
// The codecs of the keys the generic kinds cannot hold (spec_key_codecs.cc); the table that
// uses them is spec_keys.cc.
#pragma once

#include "spec/spec_keys.h"

namespace memplace {

// [matrix] axes
extern const KeyCodec kPolicyCodec, kNodeListsCodec, kBackingCodec, kToucherCodec, kSizeCodec,
    kThreadsCodec, kCpuNodeCodec, kChannelCodec;
// [run] settings
extern const KeyCodec kPlacementSourcesCodec, kToleranceCodec, kPopulateCodec, kThpCodec,
    kLocalityCodec, kToucherTimeoutCodec, kShardCodec, kTraceTransportCodec;

}  // namespace memplace
