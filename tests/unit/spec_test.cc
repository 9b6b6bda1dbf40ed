// SPDX-License-Identifier: GPL-2.0-only
#include "spec/spec.h"

#include <gtest/gtest.h>

namespace memplace {
namespace {

TEST(ParseSize, UnitsAndPlainBytes) {
  EXPECT_EQ(*parse_size("4096"), 4096u);
  EXPECT_EQ(*parse_size("64MiB"), 64ull << 20);
  EXPECT_EQ(*parse_size("64M"), 64ull << 20);
  EXPECT_EQ(*parse_size("1G"), 1ull << 30);
  EXPECT_EQ(*parse_size(" 2 GiB "), 2ull << 30);
  EXPECT_EQ(*parse_size("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_size("8KiB"), 8192u);
}

// Issue 27: "4MB" was silently read as 4 MiB. KB, MB, GB and TB are refused, naming the fix.
TEST(ParseSize, DecimalLookingUnitsAreRefusedNamingTheBinaryOne) {
  for (const char* unit : {"KB", "MB", "GB", "TB"}) {
    auto r = parse_size(std::string("4") + unit);
    ASSERT_FALSE(r.ok()) << unit;
    EXPECT_EQ(r.error().kind, ErrorKind::kBadInput);
    EXPECT_NE(r.error().message.find(std::string("write ") + unit[0] + "iB"), std::string::npos)
        << r.error().message;
  }
}

TEST(ParseSize, RejectsNonsense) {
  for (const char* bad :
       {"", "-1", "-64MiB", "MiB", "12 parsecs", "1.2.3G", "0.3B", "99999999999TiB"}) {
    auto r = parse_size(bad);
    EXPECT_FALSE(r.ok()) << "accepted '" << bad << "'";
  }
}

TEST(FormatSize, RoundTripsWholeUnits) {
  EXPECT_EQ(format_size(64ull << 20), "64MiB");
  EXPECT_EQ(format_size(1ull << 30), "1GiB");
  EXPECT_EQ(format_size(4097), "4097B");
  EXPECT_EQ(format_size(3ull << 29), "1536MiB");
}

constexpr const char* kCoverLetter = R"(
name = "cover-letter"
[matrix]
policy = ["default", "bind:1", "interleave"]
nodes = ["0-1"]
backing = ["anon", "guest_memfd"]
toucher = "host"
size = ["64MiB"]
threads = [1, 2]
cpu_node = [0]
repeats = 3
[run]
sample_interval_ms = 20
tolerance = 0.1
)";

TEST(ParseSpec, ReadsEveryAxis) {
  auto spec = parse_spec(kCoverLetter, "test.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  EXPECT_EQ(spec->name, "cover-letter");
  ASSERT_EQ(spec->policies.size(), 3u);
  EXPECT_EQ(spec->policies[1].mode, PolicyMode::kBind);
  EXPECT_EQ(*spec->policies[1].nodes, std::vector<int>{1});
  EXPECT_FALSE(spec->policies[2].nodes.has_value());
  EXPECT_EQ(spec->backings.size(), 2u);
  EXPECT_EQ(spec->touchers, std::vector<ToucherKind>{ToucherKind::kHost});
  EXPECT_EQ(spec->repeats, 3);
  EXPECT_EQ(spec->sample_interval_ms, 20);
  EXPECT_DOUBLE_EQ(spec->tolerance, 0.1);
}

TEST(Expand, CrossesAxesAndKeepsDefaultOnce) {
  auto spec = parse_spec(kCoverLetter, "test.toml");
  ASSERT_TRUE(spec.ok());
  auto cells = expand(*spec);
  // 3 policies x 2 backings x 2 thread counts x 3 repeats; default ignores the nodes axis.
  EXPECT_EQ(cells.size(), 3u * 2 * 2 * 3);
  EXPECT_TRUE(cells[0].nodes.empty());
  EXPECT_EQ(cells[0].repeat, 0);
  EXPECT_EQ(cells[1].repeat, 1);
  EXPECT_EQ(cell_key(cells[0]), cell_key(cells[1]));
  bool saw_interleave = false;
  for (const auto& c : cells)
    if (c.policy == PolicyMode::kInterleave) {
      saw_interleave = true;
      EXPECT_EQ(c.nodes, (std::vector<int>{0, 1}));
    }
  EXPECT_TRUE(saw_interleave);
}

TEST(CellKey, IsStableAndReadable) {
  Cell c;
  c.policy = PolicyMode::kInterleave;
  c.nodes = {0, 1};
  c.backing = BackingKind::kGuestMemfd;
  c.size_bytes = 64ull << 20;
  c.threads = 2;
  c.cpu_node = 0;
  EXPECT_EQ(cell_key(c), "interleave:0-1/guest_memfd/host/64MiB/t2/cpu0");
}

TEST(RenderSpecToml, ParsesBackToTheSameCells) {
  auto spec = parse_spec(kCoverLetter, "test.toml");
  ASSERT_TRUE(spec.ok());
  spec->testbed = TestbedSpec{};
  spec->testbed->kernels = {"debian:6.18", "debian:7.3"};
  std::string text = render_spec_toml(*spec);
  auto again = parse_spec(text, "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe() << "\n" << text;
  auto a = expand(*spec), b = expand(*again);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(cell_key(a[i]), cell_key(b[i]));
  ASSERT_TRUE(again->testbed.has_value());
  EXPECT_EQ(again->testbed->kernels, spec->testbed->kernels);
  auto inner = parse_spec(render_spec_toml(*spec, /*with_testbed=*/false), "inner.toml");
  ASSERT_TRUE(inner.ok());
  EXPECT_FALSE(inner->testbed.has_value());
}

TEST(RenderSpecToml, EscapesControlCharactersInText) {
  // Found by fuzz_spec: a carriage return in a description made the rendered spec unreadable.
  auto spec = parse_spec("name = \"a\\\"b\"\ndescription = \"x\\r\\ty\\u0001z\\\\\"\n", "t.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  auto again = parse_spec(render_spec_toml(*spec), "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe() << "\n" << render_spec_toml(*spec);
  EXPECT_EQ(again->name, "a\"b");
  EXPECT_EQ(again->description, "x\r\ty\x01z\\");
}

// Each bad spec must be refused with a message naming the field and the problem.
struct BadSpec {
  const char* toml;
  const char* must_mention;
};

// Named and printed by what the error must mention.
void PrintTo(const BadSpec& b, std::ostream* os) {
  *os << b.must_mention;
}

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedWithANamedField) {
  auto spec = parse_spec(GetParam().toml, "bad.toml");
  ASSERT_FALSE(spec.ok()) << "accepted:\n" << GetParam().toml;
  EXPECT_NE(spec.error().message.find(GetParam().must_mention), std::string::npos)
      << "message was: " << spec.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, BadSpecTest,
    ::testing::Values(BadSpec{"[matrix]\npolicy = [\"interleaved\"]\nnodes=[\"0\"]",
                              "unknown policy 'interleaved'"},
                      BadSpec{"[matrix]\npolicy = \"bind\"\nnodes = [\"0-\"]", "matrix.nodes[0]"},
                      BadSpec{"[matrix]\npolicy = \"bind\"\nnodes = [\"1-0\"]", "matrix.nodes[0]"},
                      BadSpec{"[matrix]\npolicy = \"bind\"\nnodes = [\"a\"]", "matrix.nodes[0]"},
                      BadSpec{"[matrix]\nbacking = [\"hugetlbfs\"]", "unknown backing 'hugetlbfs'"},
                      BadSpec{"[matrix]\ntoucher = [\"gpu\"]", "unknown toucher 'gpu'"},
                      BadSpec{"[matrix]\nsize = [\"0\"]", "size must be positive"},
                      BadSpec{"[matrix]\nsize = [\"-64MiB\"]", "size must be positive"},
                      BadSpec{"[matrix]\nsize = [-5]", "size must be positive"},
                      BadSpec{"[matrix]\nsize = [\"64 parsecs\"]", "unknown unit"},
                      BadSpec{"[matrix]\nthreads = [0]", "matrix.threads[0]"},
                      BadSpec{"[matrix]\nrepeats = 0", "matrix.repeats"},
                      BadSpec{"[matrix]\npolicy = [\"bind\"]", "needs nodes"},
                      BadSpec{"[matrix]\npolicy = [\"default:0\"]", "takes no nodes"},
                      BadSpec{"[matrix]\npolicies = [\"bind\"]", "matrix.policies: unknown key"},
                      BadSpec{"colour = \"blue\"", "colour: unknown key"},
                      BadSpec{"[run]\ntolerance = 2.0", "run.tolerance"},
                      BadSpec{"[run]\nsample_interval_ms = 0", "run.sample_interval_ms"},
                      BadSpec{"[testbed]\naccel = \"hvf\"", "testbed.accel"},
                      BadSpec{"[testbed]\nnodes = 2\ndistances = [[10,20]]", "testbed.distances"},
                      BadSpec{"[matrix]\npolicy = [\"bind\"]\nnodes = []",
                              "matrix.nodes: must not be empty"},
                      BadSpec{"[matrix\npolicy = 1", "bad.toml:"},
                      BadSpec{"[matrix]\nbacking = [3]", "matrix.backing[0]: expected a string"},
                      BadSpec{"[matrix]\ncpu_node = [\"near\"]", "matrix.cpu_node[0]"}),
    testing::ParamName());

// The same ranges as the command line's flags (memplace_run_test's Ranges table).
INSTANTIATE_TEST_SUITE_P(
    Ranges, BadSpecTest,
    ::testing::Values(
        BadSpec{"[matrix]\nthreads = [1, 1025]", "matrix.threads[1]: must be 1..1024, got 1025"},
        BadSpec{"[matrix]\nrepeats = 0", "matrix.repeats: must be 1..10000, got 0"},
        BadSpec{"[matrix]\nrepeats = 10001", "matrix.repeats: must be 1..10000, got 10001"},
        BadSpec{"[run]\nsample_interval_ms = 60001",
                "run.sample_interval_ms: must be 1..60000, got 60001"},
        BadSpec{"[run]\ntolerance = 1.0", "run.tolerance: must be a number in (0, 1)"},
        BadSpec{"[matrix]\ncpu_node = [5000]", "matrix.cpu_node[0]: must be 0..4095, got 5000"}),
    testing::ParamName());

// run.toucher_timeout_s: whole seconds in range, or "auto".
INSTANTIATE_TEST_SUITE_P(
    ToucherTimeout, BadSpecTest,
    ::testing::Values(
        BadSpec{"[run]\ntoucher_timeout_s = 0", "run.toucher_timeout_s: must be 1.."},
        BadSpec{"[run]\ntoucher_timeout_s = -5", "run.toucher_timeout_s: must be 1.."},
        BadSpec{"[run]\ntoucher_timeout_s = 99999999", "run.toucher_timeout_s: must be 1.."},
        BadSpec{"[run]\ntoucher_timeout_s = 1.5", "run.toucher_timeout_s: expected"},
        BadSpec{"[run]\ntoucher_timeout_s = \"soon\"",
                "run.toucher_timeout_s: expected whole seconds or \"auto\""},
        BadSpec{"[run]\ntoucher_timeout_s = \"10s\"", "run.toucher_timeout_s: expected"},
        BadSpec{"[run]\ntoucher_timeout_s = true", "run.toucher_timeout_s: expected"}),
    testing::ParamName());

TEST(ParseSpec, ToucherTimeoutIsSecondsOrAutoAndRoundTrips) {
  auto spec = parse_spec("[run]\ntoucher_timeout_s = 90\n", "t.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  EXPECT_EQ(spec->toucher_timeout_s, 90);
  auto again = parse_spec(render_spec_toml(*spec), "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe();
  EXPECT_EQ(again->toucher_timeout_s, 90);

  auto automatic = parse_spec("[run]\ntoucher_timeout_s = \"auto\"\n", "t.toml");
  ASSERT_TRUE(automatic.ok()) << automatic.error().describe();
  EXPECT_FALSE(automatic->toucher_timeout_s.has_value());
  EXPECT_FALSE(default_spec().toucher_timeout_s.has_value());
  EXPECT_EQ(render_spec_toml(default_spec()).find("toucher_timeout_s"), std::string::npos)
      << "specs that never set it render as before";
}

TEST(ParseToucherTimeout, FlagText) {
  EXPECT_EQ(*parse_toucher_timeout("30", "--toucher-timeout-s"), 30);
  EXPECT_FALSE(parse_toucher_timeout("auto", "--toucher-timeout-s")->has_value());
  for (const char* bad : {"", "0", "-1", "1.5", "30s", "abc", "604801", "99999999999999"}) {
    auto t = parse_toucher_timeout(bad, "--toucher-timeout-s");
    ASSERT_FALSE(t.ok()) << "accepted '" << bad << "'";
    EXPECT_EQ(t.error().message.rfind("--toucher-timeout-s: ", 0), 0u) << t.error().message;
  }
}

// The [qemu] table's keys, types and ranges, under the same rule.
INSTANTIATE_TEST_SUITE_P(
    QemuTable, BadSpecTest,
    ::testing::Values(BadSpec{"[qemu]\nbinray = \"/opt/q\"", "qemu.binray: unknown key"},
                      BadSpec{"qemu = 1", "qemu: expected a table"},
                      BadSpec{"[qemu]\nsnp = \"yes\"", "qemu.snp: expected true or false"},
                      BadSpec{"[qemu]\nsnp = 1", "qemu.snp: expected true or false"},
                      BadSpec{"[qemu]\ncbitpos = 64", "qemu.cbitpos: must be 1..63"},
                      BadSpec{"[qemu]\ncbitpos = \"51\"", "qemu.cbitpos: expected an integer"},
                      BadSpec{"[qemu]\nreduced_phys_bits = -1", "qemu.reduced_phys_bits"},
                      BadSpec{"[qemu]\nkernel_hashes = 0", "qemu.kernel_hashes"},
                      BadSpec{"[qemu]\naccel = \"hvf\"", "qemu.accel: must be auto, kvm or tcg"},
                      BadSpec{"[qemu]\nbinary = \"\"", "qemu.binary: must not be empty"},
                      BadSpec{"[qemu]\novmf = 3", "qemu.ovmf: expected a string"},
                      BadSpec{"[qemu]\ndisk_agent = \"sbin/memplace-agent\"",
                              "qemu.disk_agent: must be an absolute path"},
                      BadSpec{"[qemu]\nboot_timeout_s = 0",
                              "qemu.boot_timeout_s: must be 1..86400"},
                      BadSpec{"[qemu]\nagent_timeout_s = 99999999999",
                              "qemu.agent_timeout_s: must be 1..86400, got 99999999999"},
                      BadSpec{"[qemu]\npoweroff_timeout_s = 1.5", "qemu.poweroff_timeout_s"},
                      BadSpec{"[qemu]\nguest_overhead = \"1MiB\"", "qemu.guest_overhead"},
                      BadSpec{"[qemu]\nguest_overhead = \"lots\"", "qemu.guest_overhead"}),
    testing::ParamName());

// 64-bit TOML integers that an unchecked cast to int turned into other values (found by
// fuzz_spec: a testbed timeout of 63333333300 rendered back as a negative number).
INSTANTIATE_TEST_SUITE_P(
    IntegerRanges, BadSpecTest,
    ::testing::Values(
        BadSpec{"[testbed]\ntimeout = 63333333300", "testbed.timeout: must be 1..604800"},
        BadSpec{"[testbed]\ntimeout = 0", "testbed.timeout: must be 1..604800, got 0"},
        BadSpec{"[matrix]\ncpu_node = [4294967296]", "matrix.cpu_node[0]: must be 0..4095"},
        BadSpec{"[testbed]\nnodes = 2\nmemory_only_nodes = [4294967297]",
                "testbed.memory_only_nodes: must be 0..63"},
        BadSpec{"[testbed]\nnodes = 2\ndistances = [[10, 4294967316], [20, 10]]",
                "testbed.distances: must be 10..255"}),
    testing::ParamName());

INSTANTIATE_TEST_SUITE_P(
    ThpSetting, BadSpecTest,
    ::testing::Values(BadSpec{"[run]\nthp = \"always\"", "run.thp: unknown THP mode 'always'"},
                      BadSpec{"[run]\nthp = 1", "run.thp: expected \"auto\", \"on\", \"off\""}),
    testing::ParamName());

TEST(ThpSetting, AutoByDefaultBooleansAndNamesAndRenderedOnlyWhenSet) {
  auto plain = parse_spec("[matrix]\nbacking = \"anon\"\n", "t.toml");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->thp, ThpMode::kAuto);
  EXPECT_EQ(render_spec_toml(*plain).find("thp"), std::string::npos);
  for (auto [text, want] : {std::pair{"true", ThpMode::kOn}, std::pair{"false", ThpMode::kOff},
                            std::pair{"\"on\"", ThpMode::kOn}, std::pair{"\"off\"", ThpMode::kOff},
                            std::pair{"\"auto\"", ThpMode::kAuto}}) {
    auto spec = parse_spec(std::string("[run]\nthp = ") + text + "\n", "t.toml");
    ASSERT_TRUE(spec.ok()) << text << ": " << spec.error().describe();
    EXPECT_EQ(spec->thp, want) << text;
    auto again = parse_spec(render_spec_toml(*spec), "again.toml");
    ASSERT_TRUE(again.ok()) << again.error().describe();
    EXPECT_EQ(again->thp, want) << text;
  }
}

// Every [qemu] key, read, rendered and read back unchanged; unset keys stay unset.
TEST(QemuTable, ParsesRendersAndRoundTrips) {
  constexpr const char* kSpec = R"(
[matrix]
policy = "interleave:0-1"
backing = "guest_memfd"
toucher = "qemu"
[qemu]
binary = "/opt/qemu-snp/bin/qemu-system-x86_64"
kernel = "debian:7.3"
disk_image = "/srv/guest \"one\".img"
disk_agent = "/usr/local/bin/memplace-agent"
agent = "/opt/memplace/memplace-agent"
busybox = "/opt/busybox"
accel = "kvm"
snp = true
ovmf = "/opt/ovmf/OVMF.fd"
cbitpos = 47
reduced_phys_bits = 5
kernel_hashes = true
boot_timeout_s = 30
agent_timeout_s = 900
poweroff_timeout_s = 5
guest_overhead = "512MiB"
extra_append = "mitigations=off"
)";
  auto spec = parse_spec(kSpec, "q.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  const QemuSpec& q = spec->qemu;
  EXPECT_EQ(q.binary, "/opt/qemu-snp/bin/qemu-system-x86_64");
  EXPECT_EQ(q.kernel, "debian:7.3");
  EXPECT_EQ(q.disk_image, "/srv/guest \"one\".img");
  EXPECT_EQ(q.disk_agent, "/usr/local/bin/memplace-agent");
  EXPECT_EQ(q.agent, "/opt/memplace/memplace-agent");
  EXPECT_EQ(q.busybox, "/opt/busybox");
  EXPECT_EQ(q.accel, "kvm");
  EXPECT_EQ(q.snp, true);
  EXPECT_EQ(q.ovmf, "/opt/ovmf/OVMF.fd");
  EXPECT_EQ(q.cbitpos, 47);
  EXPECT_EQ(q.reduced_phys_bits, 5);
  EXPECT_EQ(q.kernel_hashes, true);
  EXPECT_EQ(q.boot_timeout_s, 30);
  EXPECT_EQ(q.agent_timeout_s, 900);
  EXPECT_EQ(q.poweroff_timeout_s, 5);
  EXPECT_EQ(q.guest_overhead_bytes, 512ull << 20);
  EXPECT_EQ(q.extra_append, "mitigations=off");

  std::string text = render_spec_toml(*spec);
  auto again = parse_spec(text, "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe() << "\n" << text;
  EXPECT_TRUE(again->qemu == q) << text;
  // The testbed's inner spec keeps it too: only [testbed] is left out.
  auto inner = parse_spec(render_spec_toml(*spec, /*with_testbed=*/false), "inner.toml");
  ASSERT_TRUE(inner.ok());
  EXPECT_TRUE(inner->qemu == q);

  // A partial table renders only what it sets.
  auto partial = parse_spec("[qemu]\nsnp = false\n", "p.toml");
  ASSERT_TRUE(partial.ok()) << partial.error().describe();
  std::string partial_text = render_spec_toml(*partial);
  EXPECT_NE(partial_text.find("[qemu]\nsnp = false\n"), std::string::npos) << partial_text;
  EXPECT_EQ(partial_text.find("cbitpos"), std::string::npos) << partial_text;
  auto partial_again = parse_spec(partial_text, "p2.toml");
  ASSERT_TRUE(partial_again.ok());
  EXPECT_TRUE(partial_again->qemu == partial->qemu);
  EXPECT_FALSE(partial_again->qemu.binary.has_value());
}

TEST(QemuTable, AbsentTableRendersNothing) {
  auto spec = parse_spec("[matrix]\ntoucher = \"qemu\"\n", "t.toml");
  ASSERT_TRUE(spec.ok());
  EXPECT_TRUE(spec->qemu == QemuSpec{});
  EXPECT_EQ(render_spec_toml(*spec).find("[qemu]"), std::string::npos);
}

TEST(ValidateCells, RefusesMissingNodesAndOversizedCells) {
  HostFacts host;
  host.nodes = {0, 2};
  host.free_bytes = {{0, 1ull << 30}, {2, 1ull << 30}};
  host.margin_bytes = 128ull << 20;
  Cell ok;
  ok.policy = PolicyMode::kInterleave;
  ok.nodes = {0, 2};
  ok.size_bytes = 1ull << 30;  // 512 MiB per node fits under 896 MiB usable
  EXPECT_TRUE(validate_cells({ok}, host).ok());
  EXPECT_TRUE(check_free_memory({ok}, host).ok());

  Cell missing = ok;
  missing.nodes = {0, 1};
  auto s = validate_cells({missing}, host);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("node 1 does not exist"), std::string::npos)
      << s.error().message;

  Cell big = ok;
  big.policy = PolicyMode::kBind;
  big.nodes = {2};
  EXPECT_TRUE(validate_cells({big}, host).ok()) << "capacity is check_free_memory's job";
  s = check_free_memory({big}, host);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("exceeds the free memory of nodes 2"), std::string::npos)
      << s.error().message;

  Cell whole_host = ok;
  whole_host.policy = PolicyMode::kDefault;
  whole_host.nodes = {};
  whole_host.size_bytes = 3ull << 30;
  EXPECT_FALSE(check_free_memory({whole_host}, host).ok());
  host.margin_bytes = 0;
  whole_host.size_bytes = 2ull << 30;
  EXPECT_TRUE(check_free_memory({whole_host}, host).ok()) << "the margin is configurable";

  Cell bad_cpu = ok;
  bad_cpu.cpu_node = 1;
  EXPECT_FALSE(validate_cells({bad_cpu}, host).ok());
}

}  // namespace
}  // namespace memplace

namespace memplace {
namespace {

TEST(PlacementSpec, ChannelAxisPrivateBackingAndSourcesRoundTrip) {
  auto spec = parse_spec(
      "[matrix]\npolicy = [\"bind:1\"]\nbacking = [\"guest_memfd_private\"]\n"
      "toucher = [\"vcpu\"]\npolicy_channel = [\"mbind\", \"task\"]\n"
      "[run]\nplacement_sources = [\"trace\"]\ntrace_buffer_kib = 16\n"
      "trace_transport = \"tracefs\"\n",
      "t.toml");
  ASSERT_TRUE(spec.ok()) << spec.error().describe();
  EXPECT_EQ(spec->channels.size(), 2u);
  EXPECT_EQ(spec->placement_sources, std::vector<std::string>{"trace"});
  EXPECT_EQ(spec->trace_buffer_kib, 16u);
  EXPECT_EQ(spec->trace_transport, TraceTransport::kTracefs);
  auto cells = expand(*spec);
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cell_key(cells[0]), "bind:1/guest_memfd_private/vcpu/64MiB/t1/cpuany");
  EXPECT_EQ(cell_key(cells[1]), "bind:1/guest_memfd_private/vcpu/64MiB/t1/cpuany/task");
  auto again = parse_spec(render_spec_toml(*spec), "rendered.toml");
  ASSERT_TRUE(again.ok()) << again.error().describe() << "\n" << render_spec_toml(*spec);
  EXPECT_EQ(again->channels, spec->channels);
  EXPECT_EQ(again->placement_sources, spec->placement_sources);
  EXPECT_EQ(again->trace_buffer_kib, 16u);
  EXPECT_EQ(again->trace_transport, TraceTransport::kTracefs);
  // Defaults render nothing new, so older specs render as before.
  std::string plain = render_spec_toml(default_spec());
  EXPECT_EQ(plain.find("policy_channel"), std::string::npos);
  EXPECT_EQ(plain.find("placement_sources"), std::string::npos);
  EXPECT_EQ(plain.find("trace_buffer_kib"), std::string::npos);
  EXPECT_EQ(plain.find("trace_transport"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    PlacementSources, BadSpecTest,
    ::testing::Values(
        BadSpec{"[matrix]\npolicy_channel = [\"vma\"]", "matrix.policy_channel[0]: unknown"},
        BadSpec{"[run]\nplacement_sources = [\"pagemap\"]",
                "run.placement_sources[0]: unknown placement source 'pagemap'"},
        BadSpec{"[run]\ntrace_buffer_kib = -1", "run.trace_buffer_kib"},
        BadSpec{"[run]\ntrace_transport = \"perf\"",
                "run.trace_transport: unknown trace transport 'perf' (known: auto, bpf, tracefs)"},
        BadSpec{"[run]\ntrace_transport = 1", "run.trace_transport"}),
    testing::ParamName());

}  // namespace
}  // namespace memplace
