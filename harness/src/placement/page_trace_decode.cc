// SPDX-License-Identifier: GPL-2.0-only
// The pure half of the trace source: reading the format files and the buffer statistics,
// decoding ring-buffer sub-buffers with libtraceevent, and the allocation ledger.
#include <traceevent/event-parse.h>
// kbuffer.h, unlike event-parse.h, declares its functions without C linkage.
extern "C" {
#include <traceevent/kbuffer.h>
}

#include <algorithm>
#include <charconv>
#include <cstring>

#include "base/text.h"
#include "placement/page_trace.h"

namespace memplace {

namespace {

std::optional<uint64_t> number_after(std::string_view s, size_t at, int base) {
  while (at < s.size() && (s[at] == ' ' || s[at] == '(')) ++at;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data() + at, s.data() + s.size(), v, base);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<uint64_t> gfp_flag_value(std::string_view format, std::string_view flag) {
  const std::string quoted = "\"" + std::string(flag) + "\"";
  size_t at = format.find(quoted);
  if (at == std::string_view::npos) return std::nullopt;
  size_t open = format.rfind('{', at);
  if (open == std::string_view::npos) return std::nullopt;
  std::string_view entry = format.substr(open, at - open);
  if (size_t shift = entry.rfind("<<"); shift != std::string_view::npos) {
    auto bit = number_after(entry, shift + 2, 10);
    if (!bit || *bit > 63) return std::nullopt;
    return uint64_t{1} << *bit;
  }
  if (size_t hex = entry.rfind("0x"); hex != std::string_view::npos)
    return number_after(entry, hex + 2, 16);
  return std::nullopt;
}

Result<CpuBufferStats> parse_cpu_buffer_stats(std::string_view text) {
  CpuBufferStats s;
  int seen = 0;
  LineCursor lines(text);
  for (std::string_view line; lines.next(line);) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    uint64_t* field = key == "entries"          ? &s.entries
                      : key == "overrun"        ? &s.overrun
                      : key == "commit overrun" ? &s.commit_overrun
                      : key == "dropped events" ? &s.dropped
                                                : nullptr;
    if (!field) continue;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), *field);
    if (ec != std::errc()) return make_error("stats: bad " + std::string(key) + " value");
    ++seen;
  }
  // entries, overrun and commit overrun are in every kernel this runs on; dropped events since
  // 4.x. Without the loss counters a reading could not be trusted.
  if (seen < 3) return make_error("stats: the ring buffer's loss counters are missing");
  return s;
}

void PageLedger::alloc(uint64_t pfn, unsigned order) {
  uint64_t first = pfn, end = pfn + (uint64_t{1} << std::min(order, 20u));
  // Merge with every interval it touches or overlaps: a pfn allocated twice means its free was
  // not seen (another task freed it); it is one page all the same.
  auto it = live_.upper_bound(first);
  if (it != live_.begin() && std::prev(it)->second >= first) --it;
  while (it != live_.end() && it->first <= end) {
    first = std::min(first, it->first);
    end = std::max(end, it->second);
    it = live_.erase(it);
  }
  live_[first] = end;
}

void PageLedger::free(uint64_t pfn, unsigned order) {
  const uint64_t first = pfn, end = pfn + (uint64_t{1} << std::min(order, 20u));
  auto it = live_.upper_bound(first);
  if (it != live_.begin()) --it;
  while (it != live_.end() && it->first < end) {
    const uint64_t a = it->first, b = it->second;
    if (b <= first) {
      ++it;
      continue;
    }
    it = live_.erase(it);
    if (a < first) live_[a] = first;
    if (b > end) live_[end] = b;
  }
}

bool PageLedger::holds(uint64_t pfn, unsigned order) const {
  const uint64_t end = pfn + (uint64_t{1} << std::min(order, 20u));
  auto it = live_.upper_bound(pfn);
  if (it == live_.begin()) return false;
  --it;
  return it->first <= pfn && end <= it->second;
}

uint64_t PageLedger::pages() const {
  uint64_t n = 0;
  for (const auto& [a, b] : live_) n += b - a;
  return n;
}

std::map<int, uint64_t> PageLedger::pages_per_node(const PfnNodeMap& map,
                                                   uint64_t* unplaced) const {
  std::map<int, uint64_t> out;
  uint64_t lost = 0;
  const auto& ranges = map.ranges();
  for (const auto& [first, end] : live_) {
    uint64_t a = first;
    const uint64_t b = end;
    while (a < b) {
      auto r =
          std::upper_bound(ranges.begin(), ranges.end(), a,
                           [](uint64_t p, const PfnNodeMap::Range& x) { return p < x.first_pfn; });
      const PfnNodeMap::Range* in = nullptr;
      if (r != ranges.begin() && a < std::prev(r)->end_pfn) in = &*std::prev(r);
      if (in) {
        uint64_t stop = std::min(b, in->end_pfn);
        out[in->node] += stop - a;
        a = stop;
      } else {
        uint64_t stop = r == ranges.end() ? b : std::min(b, r->first_pfn);
        lost += stop - a;
        a = stop;
      }
    }
  }
  if (unplaced) *unplaced = lost;
  return out;
}

struct PageEventDecoder::Impl {
  tep_handle* tep = nullptr;
  kbuffer* kbuf = nullptr;
  int alloc_id = -1, free_id = -1, batched_id = -1;
  int migrate_start_id = -1, migrate_end_id = -1;
  tep_format_field* alloc_pfn = nullptr;
  tep_format_field* alloc_order = nullptr;
  tep_format_field* alloc_gfp = nullptr;
  tep_format_field* free_pfn = nullptr;
  tep_format_field* free_order = nullptr;
  tep_format_field* batched_pfn = nullptr;
  std::vector<char> page;  // aligned copy of a short read
  ~Impl() {
    if (kbuf) kbuffer_free(kbuf);
    if (tep) tep_free(tep);
  }
};

PageEventDecoder::PageEventDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PageEventDecoder::PageEventDecoder(PageEventDecoder&&) noexcept = default;
PageEventDecoder& PageEventDecoder::operator=(PageEventDecoder&&) noexcept = default;
PageEventDecoder::~PageEventDecoder() = default;

namespace {

Result<tep_event*> parse_event(tep_handle* tep, const std::string& name, const std::string& text,
                               const char* system = "kmem") {
  enum tep_errno rc = tep_parse_event(tep, text.data(), text.size(), system);
  if (rc != TEP_ERRNO__SUCCESS) {
    char buf[128] = "";
    tep_strerror(tep, rc, buf, sizeof buf);
    return make_error("parsing the " + name + " format: " + buf);
  }
  tep_event* ev = tep_find_event_by_name(tep, system, name.c_str());
  if (!ev) return make_error("the " + name + " format names no " + system + " event");
  return ev;
}

Result<tep_format_field*> field(tep_event* ev, const char* name) {
  tep_format_field* f = tep_find_field(ev, name);
  if (!f) return make_error(std::string(ev->name) + " has no field " + name);
  return f;
}

}  // namespace

Result<PageEventDecoder> PageEventDecoder::create(
    const std::string& header_page, const std::map<std::string, std::string>& formats) {
  auto impl = std::make_unique<Impl>();
  impl->tep = tep_alloc();
  if (!impl->tep) return make_error("tep_alloc");
  tep_set_long_size(impl->tep, sizeof(long));
  tep_set_file_bigendian(impl->tep, TEP_LITTLE_ENDIAN);
  tep_set_local_bigendian(impl->tep, TEP_LITTLE_ENDIAN);
  std::string header = header_page;
  if (tep_parse_header_page(impl->tep, header.data(), header.size(), sizeof(long)) != 0)
    return make_error("parsing events/header_page");
  for (const char* required : {"mm_page_alloc", "mm_page_free"})
    if (!formats.count(required)) return make_error(std::string("no format for ") + required);
  auto alloc = parse_event(impl->tep, "mm_page_alloc", formats.at("mm_page_alloc"));
  if (!alloc) return alloc.error();
  auto fr = parse_event(impl->tep, "mm_page_free", formats.at("mm_page_free"));
  if (!fr) return fr.error();
  impl->alloc_id = (*alloc)->id;
  impl->free_id = (*fr)->id;
  for (auto [slot, ev, name] : {std::tuple{&impl->alloc_pfn, *alloc, "pfn"},
                                {&impl->alloc_order, *alloc, "order"},
                                {&impl->alloc_gfp, *alloc, "gfp_flags"},
                                {&impl->free_pfn, *fr, "pfn"},
                                {&impl->free_order, *fr, "order"}}) {
    auto f = field(ev, name);
    if (!f) return f.error();
    *slot = *f;
  }
  if (auto it = formats.find("mm_page_free_batched"); it != formats.end()) {
    auto b = parse_event(impl->tep, "mm_page_free_batched", it->second);
    if (!b) return b.error();
    auto f = field(*b, "pfn");
    if (!f) return f.error();
    impl->batched_id = (*b)->id;
    impl->batched_pfn = *f;
  }
  // A migration's bounds; the events carry no field memplace reads.
  if (formats.count("mm_migrate_pages_start") && formats.count("mm_migrate_pages")) {
    auto start = parse_event(impl->tep, "mm_migrate_pages_start",
                             formats.at("mm_migrate_pages_start"), "migrate");
    if (!start) return start.error();
    auto end =
        parse_event(impl->tep, "mm_migrate_pages", formats.at("mm_migrate_pages"), "migrate");
    if (!end) return end.error();
    impl->migrate_start_id = (*start)->id;
    impl->migrate_end_id = (*end)->id;
  }
  impl->kbuf = tep_kbuffer(impl->tep);
  if (!impl->kbuf) return make_error("tep_kbuffer");
  return PageEventDecoder(std::move(impl));
}

bool PageEventDecoder::decodes_migrations() const {
  return impl_->migrate_end_id >= 0;
}

Result<PageEventDecoder::SubbufferResult> PageEventDecoder::decode(const void* subbuffer,
                                                                   size_t bytes,
                                                                   std::vector<PageEvent>& out) {
  Impl& d = *impl_;
  constexpr size_t kHeader = 16;  // u64 timestamp, u64 commit (local_t)
  if (bytes < kHeader) return make_error("short ring-buffer read: " + std::to_string(bytes));
  uint64_t commit;
  std::memcpy(&commit, static_cast<const char*>(subbuffer) + 8, sizeof commit);
  // The commit word's low bits are the data length; the top bits flag missed events.
  const uint64_t length = commit & ((uint64_t{1} << 30) - 1);
  if (length > bytes - kHeader)
    return make_error("ring-buffer page claims " + std::to_string(length) + " bytes of data, " +
                      std::to_string(bytes - kHeader) + " were read");
  d.page.assign(static_cast<const char*>(subbuffer), static_cast<const char*>(subbuffer) + bytes);
  if (kbuffer_load_subbuffer(d.kbuf, d.page.data()) < 0)
    return make_error("kbuffer could not load a ring-buffer page");
  SubbufferResult r;
  r.missed = kbuffer_missed_events(d.kbuf) != 0;
  unsigned long long ts = 0;
  for (void* data = kbuffer_read_event(d.kbuf, &ts); data; data = kbuffer_next_event(d.kbuf, &ts)) {
    tep_record rec{};
    rec.data = data;
    rec.size = kbuffer_event_size(d.kbuf);
    const int type = tep_data_type(d.tep, &rec);
    unsigned long long pfn = 0, order = 0, gfp = 0;
    PageEvent ev;
    if (type == d.alloc_id) {
      tep_read_number_field(d.alloc_pfn, data, &pfn);
      tep_read_number_field(d.alloc_order, data, &order);
      tep_read_number_field(d.alloc_gfp, data, &gfp);
      ev = {PageEvent::Kind::kAlloc, pfn, static_cast<unsigned>(order), gfp, ts};
    } else if (type == d.free_id) {
      tep_read_number_field(d.free_pfn, data, &pfn);
      tep_read_number_field(d.free_order, data, &order);
      ev = {PageEvent::Kind::kFree, pfn, static_cast<unsigned>(order), 0, ts};
    } else if (type == d.batched_id && d.batched_id >= 0) {
      tep_read_number_field(d.batched_pfn, data, &pfn);
      ev = {PageEvent::Kind::kFree, pfn, 0, 0, ts};
    } else if (type == d.migrate_start_id && d.migrate_start_id >= 0) {
      ev = {PageEvent::Kind::kMigrateStart, 0, 0, 0, ts};
    } else if (type == d.migrate_end_id && d.migrate_end_id >= 0) {
      ev = {PageEvent::Kind::kMigrateEnd, 0, 0, 0, ts};
    } else {
      ++r.other;
      continue;
    }
    // An allocation that failed reports pfn -1; it placed nothing.
    if (ev.kind == PageEvent::Kind::kAlloc && pfn == ~0ull) continue;
    ev.pid = tep_data_pid(d.tep, &rec);
    out.push_back(ev);
    ++r.events;
  }
  return r;
}

}  // namespace memplace
