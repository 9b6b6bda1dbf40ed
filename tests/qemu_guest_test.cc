// The qemu toucher's QEMU command lines, golden-file tested. MEMPLACE_UPDATE_GOLDEN=1 rewrites
// the files (review the diff before committing).
#include "memplace/qemu_guest.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "memplace/qemu_run.h"

namespace memplace {
namespace {

std::string golden_path(const std::string& name) {
  return std::string(MEMPLACE_FIXTURES) + "/golden/qemu_guest_" + name + ".txt";
}

void expect_golden(const std::string& name, const std::string& actual) {
  std::string path = golden_path(name);
  if (std::getenv("MEMPLACE_UPDATE_GOLDEN")) {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "rewrote " << path;
  }
  std::ifstream f(path);
  ASSERT_TRUE(f) << "missing golden file " << path << "; run with MEMPLACE_UPDATE_GOLDEN=1";
  std::stringstream ss;
  ss << f.rdbuf();
  EXPECT_EQ(actual, ss.str()) << "golden " << path;
}

QemuGuestPaths fixed_paths() {
  return {"/boot/vmlinuz-guest", "/run/memplace/initrd.cpio", "/run/memplace/serial.log",
          "/run/memplace/agent.sock"};
}

QemuCapabilities qemu_72() {
  QemuCapabilities caps;
  caps.binary = "qemu-system-x86_64";
  caps.version = {7, 2, 22};
  caps.memfd_properties = {"share", "prealloc", "host-nodes", "policy", "size"};
  return caps;
}

QemuCapabilities qemu_11() {
  QemuCapabilities caps = qemu_72();
  caps.version = {11, 0, 0};
  caps.memfd_properties.insert("x-guest-memfd");
  caps.has_sev_snp_guest = true;
  return caps;
}

Cell qemu_cell(PolicyMode mode, std::vector<int> nodes, BackingKind backing) {
  Cell c;
  c.policy = mode;
  c.nodes = std::move(nodes);
  c.backing = backing;
  c.toucher = "qemu";
  c.size_bytes = 256ull << 20;
  c.threads = 2;
  return c;
}

// The letter's guest: SNP, one guest node with 16 vCPUs on 1024M interleaved over host 0-1.
QemuGuestConfig cover_letter_config() {
  QemuGuestConfig c;
  c.version = {9, 1, 0};
  c.accel = "kvm";
  c.snp = SevSnpConfig{};
  c.snp->ovmf = "/usr/share/ovmf/OVMF.fd";
  QemuGuestNode n;
  n.id = 0;
  n.mem_bytes = 1024ull << 20;
  for (int i = 0; i < 16; ++i) n.cpus.push_back(i);
  n.host_policy = "interleave";
  n.host_nodes = {0, 1};
  c.nodes = {n};
  auto p = fixed_paths();
  c.kernel = p.kernel;
  c.initrd = p.initrd;
  c.serial_log = p.serial_log;
  c.socket_path = p.socket_path;
  return c;
}

TEST(QemuGuestCommand, CoverLetterSnpInterleave) {
  auto argv = qemu_guest_command(cover_letter_config());
  std::string cmd = format_command_multiline(argv);
  // The letter's pieces, in QEMU's current spelling.
  EXPECT_NE(cmd.find("-machine q35,confidential-guest-support=sev0,vmport=off"), std::string::npos);
  EXPECT_NE(cmd.find("-object sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1 "),
            std::string::npos);
  EXPECT_NE(cmd.find("-numa node,nodeid=0,memdev=ram0,cpus=0-15"), std::string::npos);
  EXPECT_NE(cmd.find("-object memory-backend-memfd,id=ram0,host-nodes=0-1,policy=interleave,"
                     "size=1024M,share=on,prealloc=off"),
            std::string::npos);
  EXPECT_NE(cmd.find("-bios /usr/share/ovmf/OVMF.fd"), std::string::npos);
  EXPECT_EQ(cmd.find("balloon"), std::string::npos);
  expect_golden("snp_interleave", cmd);
}

TEST(QemuGuestCommand, OldQemuUsesMemoryEncryption) {
  QemuGuestConfig c = cover_letter_config();
  c.version = {5, 2, 0};
  c.snp->kernel_hashes = true;
  std::string cmd = format_command_multiline(qemu_guest_command(c));
  EXPECT_NE(cmd.find("-machine q35,memory-encryption=sev0,vmport=off"), std::string::npos);
  EXPECT_EQ(cmd.find("confidential-guest-support"), std::string::npos);
  EXPECT_NE(cmd.find(",kernel-hashes=on"), std::string::npos);
}

TEST(QemuGuestCommand, BindMemfdOnTcg) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kBind, {0}, BackingKind::kShmem), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  expect_golden("bind", format_command_multiline(qemu_guest_command(*c)));
}

TEST(QemuGuestCommand, PreferredOnKvm) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kPreferred, {1}, BackingKind::kShmem), o,
                                 qemu_72(), "kvm", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_NE(cmd.find("host-nodes=1,policy=preferred"), std::string::npos);
  EXPECT_NE(cmd.find("-accel kvm \\\n  -cpu host"), std::string::npos);
  expect_golden("preferred", cmd);
}

TEST(QemuGuestCommand, PlainGuestMemfdVm) {
  QemuToucherOptions o;
  auto c =
      qemu_guest_config_for(qemu_cell(PolicyMode::kInterleave, {0, 1}, BackingKind::kGuestMemfd), o,
                            qemu_11(), "kvm", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_NE(cmd.find("share=on,prealloc=off,x-guest-memfd=on"), std::string::npos);
  EXPECT_EQ(cmd.find("sev"), std::string::npos);
  expect_golden("guest_memfd", cmd);
}

TEST(QemuGuestCommand, PlainMemfdDefaultPolicyHasNoHostNodes) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kDefault, {}, BackingKind::kShmem), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_EQ(cmd.find("host-nodes"), std::string::npos);
  expect_golden("memfd", cmd);
}

TEST(QemuGuestCommand, AnonIsMemoryBackendRam) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kBind, {0}, BackingKind::kAnon), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok());
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_NE(cmd.find("memory-backend-ram,id=ram0,host-nodes=0,policy=bind"), std::string::npos);
  EXPECT_EQ(cmd.find("share="), std::string::npos);
}

TEST(QemuGuestCommand, GuestNodesWithDisjointCpusAndMemoryOnlyNode) {
  QemuGuestConfig c = cover_letter_config();
  c.snp.reset();
  c.accel = "tcg";
  c.nodes[0].cpus = {0, 1, 4};
  QemuGuestNode mem_only;
  mem_only.id = 1;
  mem_only.mem_bytes = 512ull << 20;
  c.nodes.push_back(mem_only);
  auto argv = qemu_guest_command(c);
  std::string cmd = format_command_multiline(argv);
  EXPECT_NE(cmd.find("-numa node,nodeid=0,memdev=ram0,cpus=0-1,cpus=4"), std::string::npos);
  EXPECT_NE(cmd.find("-numa node,nodeid=1,memdev=ram1 \\\n"), std::string::npos) << cmd;
  EXPECT_NE(cmd.find("-smp 3 \\\n  -m 1536M"), std::string::npos) << cmd;
}

TEST(QemuGuestCommand, PoliciesQemuCannotExpressAreRefused) {
  QemuToucherOptions o;
  auto c =
      qemu_guest_config_for(qemu_cell(PolicyMode::kWeightedInterleave, {0, 1}, BackingKind::kShmem),
                            o, qemu_72(), "tcg", fixed_paths());
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("weighted"), std::string::npos) << c.error().message;
}

TEST(QemuProbe, VersionNumbersAndPropertyHelp) {
  auto v = parse_qemu_version_numbers("7.2.22");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->major, 7);
  EXPECT_EQ(v->minor, 2);
  EXPECT_EQ(v->micro, 22);
  EXPECT_TRUE(v->at_least(6, 0));
  EXPECT_FALSE(v->at_least(11, 0));
  EXPECT_FALSE(parse_qemu_version_numbers("").ok());
  EXPECT_FALSE(parse_qemu_version_numbers("seven").ok());

  auto props = parse_qemu_property_help(
      "memory-backend-memfd options:\n"
      "  dump=<bool>            - Set to 'off' to exclude from core dump\n"
      "  host-nodes=<int>       - Binds memory to the list of NUMA host nodes\n"
      "  x-guest-memfd=<bool>\n"
      "  share=<bool>           - Mark the memory as private to QEMU or shared\n");
  EXPECT_EQ(props, (std::set<std::string>{"dump", "host-nodes", "x-guest-memfd", "share"}));
  QemuCapabilities caps;
  caps.memfd_properties = props;
  EXPECT_EQ(guest_memfd_property(caps), "x-guest-memfd");
  caps.memfd_properties.insert("guest-memfd");
  EXPECT_EQ(guest_memfd_property(caps), "guest-memfd");
}

TEST(QemuProbe, InstalledQemu) {
  auto caps = probe_qemu("qemu-system-x86_64");
  if (!caps) GTEST_SKIP() << "no QEMU: " << caps.error().describe();
  EXPECT_TRUE(caps->version.known()) << caps->version_line;
  EXPECT_TRUE(caps->memfd_properties.count("host-nodes"));
  EXPECT_TRUE(caps->memfd_properties.count("policy"));
  EXPECT_TRUE(caps->memfd_properties.count("share"));
  std::printf("probed %s: %s, memfd properties %zu, sev-snp-guest %s\n", caps->binary.c_str(),
              caps->version.text().c_str(), caps->memfd_properties.size(),
              caps->has_sev_snp_guest ? "yes" : "no");
}

TEST(QemuDryRun, CoverLetterCellPrintsTheSnpCommand) {
  QemuToucherOptions o;
  o.snp = true;
  o.kernel = "debian:7.3";
  Cell cell = qemu_cell(PolicyMode::kInterleave, {0, 1}, BackingKind::kGuestMemfd);
  cell.threads = 16;
  std::string out = qemu_dry_run(cell, o);
  EXPECT_NE(out.find("sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1"), std::string::npos)
      << out;
  EXPECT_NE(out.find("host-nodes=0-1,policy=interleave"), std::string::npos);
  EXPECT_NE(out.find("cpus=0-15"), std::string::npos);
  EXPECT_NE(out.find("<vmlinuz of debian:7.3>"), std::string::npos);
}

TEST(GuestRamPlacement, FindsTheMemfdMappingsAndConvertsPageSizes) {
  std::vector<NumaMapsEntry> maps(3);
  maps[0].start = 0x7f0000000000;
  maps[0].policy = "bind:0";
  maps[0].file = "/memfd:memory-backend-memfd\\040(deleted)";
  maps[0].node_pages = {{0, 1000}};
  maps[1].start = 0x7f1000000000;
  maps[1].policy = "default";
  maps[1].anon = true;
  maps[1].node_pages = {{0, 5000}, {1, 7}};
  maps[2].start = 0x7f2000000000;
  maps[2].policy = "bind:1";
  maps[2].file = "/memfd:memory-backend-memfd\\040(deleted)";
  maps[2].page_size_kb = 2048;
  maps[2].node_pages = {{1, 2}};
  auto g = guest_ram_placement(maps, "memfd");
  EXPECT_EQ(g.pages, (std::map<int, uint64_t>{{0, 1000}, {1, 1024}}));
  EXPECT_EQ(g.mappings.size(), 2u);
  auto ram = guest_ram_placement(maps, "ram");
  EXPECT_EQ(ram.pages, (std::map<int, uint64_t>{{0, 5000}, {1, 7}}));
}

}  // namespace
}  // namespace memplace
