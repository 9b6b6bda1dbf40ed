// SPDX-License-Identifier: GPL-2.0-only
// The qemu toucher's QEMU command lines, golden-file tested. MEMPLACE_UPDATE_GOLDEN=1 rewrites
// the files (review the diff before committing).
#include "qemu/qemu_guest.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>

#include "base/subprocess.h"
#include "golden.h"
#include "qemu/qemu_cell_runner.h"
#include "qemu/qemu_command.h"
#include "spec/spec.h"

namespace memplace {
namespace {

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
  c.toucher = ToucherKind::kQemu;
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
  testing::expect_golden(cmd, "qemu_guest_snp_interleave.txt");
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
  testing::expect_golden(format_command_multiline(qemu_guest_command(*c)), "qemu_guest_bind.txt");
}

TEST(QemuGuestCommand, PreferredOnKvm) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kPreferred, {1}, BackingKind::kShmem), o,
                                 qemu_72(), "kvm", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_NE(cmd.find("host-nodes=1,policy=preferred"), std::string::npos);
  EXPECT_NE(cmd.find("-accel kvm \\\n  -cpu host"), std::string::npos);
  testing::expect_golden(cmd, "qemu_guest_preferred.txt");
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
  testing::expect_golden(cmd, "qemu_guest_guest_memfd.txt");
}

TEST(QemuGuestCommand, PlainMemfdDefaultPolicyHasNoHostNodes) {
  QemuToucherOptions o;
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kDefault, {}, BackingKind::kShmem), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  std::string cmd = format_command_multiline(qemu_guest_command(*c));
  EXPECT_EQ(cmd.find("host-nodes"), std::string::npos);
  testing::expect_golden(cmd, "qemu_guest_memfd.txt");
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

// A fake environment, so the precedence is tested without touching the process's own.
std::function<const char*(const char*)> fake_env(std::map<std::string, std::string> vars) {
  auto held = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [held](const char* name) -> const char* {
    auto it = held->find(name);
    return it == held->end() ? nullptr : it->second.c_str();
  };
}

TEST(QemuSpecEnv, SpecValuesWinAndTheEnvironmentFillsTheRest) {
  QemuSpec spec;
  spec.binary = "/opt/qemu-snp/bin/qemu-system-x86_64";
  spec.snp = false;
  auto q = qemu_spec_env_fallbacks(spec, fake_env({{"MEMPLACE_QEMU", "/usr/bin/other-qemu"},
                                                   {"MEMPLACE_QEMU_SNP", "1"},
                                                   {"MEMPLACE_QEMU_CBITPOS", "47"},
                                                   {"MEMPLACE_QEMU_DISK", "/srv/guest.img"},
                                                   {"MEMPLACE_AGENT", ""}}));
  ASSERT_TRUE(q.ok()) << q.error().describe();
  EXPECT_EQ(q->binary, "/opt/qemu-snp/bin/qemu-system-x86_64");
  EXPECT_EQ(q->snp, false);
  EXPECT_EQ(q->cbitpos, 47);
  EXPECT_EQ(q->disk_image, "/srv/guest.img");
  EXPECT_FALSE(q->agent.has_value());  // empty counts as unset
  EXPECT_FALSE(q->ovmf.has_value());
  // Nothing set anywhere: nothing changes.
  auto none = qemu_spec_env_fallbacks(QemuSpec{}, fake_env({}));
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(*none == QemuSpec{});
}

TEST(QemuSpecEnv, BadValuesNameTheVariable) {
  auto snp = qemu_spec_env_fallbacks(QemuSpec{}, fake_env({{"MEMPLACE_QEMU_SNP", "yes"}}));
  ASSERT_FALSE(snp.ok());
  EXPECT_NE(
      snp.error().message.find("MEMPLACE_QEMU_SNP from the environment: qemu.snp: expected 0 or 1"),
      std::string::npos)
      << snp.error().message;
  auto num = qemu_spec_env_fallbacks(QemuSpec{}, fake_env({{"MEMPLACE_QEMU_BOOT_TIMEOUT", "5s"}}));
  ASSERT_FALSE(num.ok());
  EXPECT_NE(num.error().message.find("MEMPLACE_QEMU_BOOT_TIMEOUT"), std::string::npos)
      << num.error().message;
  auto range = qemu_spec_env_fallbacks(QemuSpec{}, fake_env({{"MEMPLACE_QEMU_CBITPOS", "99"}}));
  ASSERT_FALSE(range.ok());
  EXPECT_NE(range.error().message.find("environment: qemu.cbitpos: must be 1..63"),
            std::string::npos)
      << range.error().message;
  // A spec value shadows a bad variable: it is never read.
  QemuSpec set;
  set.cbitpos = 51;
  EXPECT_TRUE(qemu_spec_env_fallbacks(set, fake_env({{"MEMPLACE_QEMU_CBITPOS", "99"}})).ok());
}

// run.toucher_timeout_s bounds the guest's touch unless [qemu] agent_timeout_s says otherwise.
TEST(QemuCellOptions, ToucherTimeoutSetsTheTouchPhaseUnlessTheTableDoes) {
  RunContext ctx;
  EXPECT_EQ(qemu_cell_options(ctx).agent_timeout_seconds, 600);
  ctx.toucher_timeout_s = 45;
  EXPECT_EQ(qemu_cell_options(ctx).agent_timeout_seconds, 45);
  EXPECT_EQ(qemu_cell_options(ctx).boot_timeout_seconds, 120) << "boot is not the touch";
  ctx.qemu.agent_timeout_s = 8;
  EXPECT_EQ(qemu_cell_options(ctx).agent_timeout_seconds, 8);
}

TEST(QemuToucherOptions, TableFieldsOverrideTheDefaults) {
  QemuToucherOptions defaults = qemu_toucher_options(QemuSpec{});
  EXPECT_EQ(defaults.qemu_binary, "qemu-system-x86_64");
  EXPECT_EQ(defaults.disk_agent, "/sbin/memplace-agent");
  EXPECT_EQ(defaults.snp_config.cbitpos, 51);
  EXPECT_EQ(defaults.boot_timeout_seconds, 120);
  QemuSpec q;
  q.binary = "/opt/q";
  q.kernel = "/boot/bzImage";
  q.disk_image = "/srv/g.img";
  q.disk_agent = "/opt/agent";
  q.agent = "/a";
  q.busybox = "/bb";
  q.accel = "tcg";
  q.snp = true;
  q.ovmf = "/fw";
  q.cbitpos = 47;
  q.reduced_phys_bits = 5;
  q.kernel_hashes = true;
  q.boot_timeout_s = 7;
  q.agent_timeout_s = 8;
  q.poweroff_timeout_s = 9;
  q.guest_overhead_bytes = 64ull << 20;
  q.extra_append = "quiet";
  QemuToucherOptions o = qemu_toucher_options(q);
  EXPECT_EQ(o.qemu_binary, "/opt/q");
  EXPECT_EQ(o.kernel, "/boot/bzImage");
  EXPECT_EQ(o.disk_image, "/srv/g.img");
  EXPECT_EQ(o.disk_agent, "/opt/agent");
  EXPECT_EQ(o.agent_binary, "/a");
  EXPECT_EQ(o.busybox, "/bb");
  EXPECT_EQ(o.accel, "tcg");
  EXPECT_TRUE(o.snp);
  EXPECT_EQ(o.snp_config.ovmf, "/fw");
  EXPECT_EQ(o.snp_config.cbitpos, 47);
  EXPECT_EQ(o.snp_config.reduced_phys_bits, 5);
  EXPECT_TRUE(o.snp_config.kernel_hashes);
  EXPECT_EQ(o.boot_timeout_seconds, 7);
  EXPECT_EQ(o.agent_timeout_seconds, 8);
  EXPECT_EQ(o.poweroff_timeout_seconds, 9);
  EXPECT_EQ(o.guest_overhead_bytes, 64ull << 20);
  EXPECT_EQ(o.extra_append, "quiet");
}

// A disk image guest: root and init on the command line, the image attached as a snapshot.
TEST(QemuGuestCommand, DiskImageBootsRootFromTheCommandLine) {
  QemuToucherOptions o;
  o.disk_image = "/srv/guest.img";
  o.disk_agent = "/usr/local/bin/memplace-agent";
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kBind, {0}, BackingKind::kShmem), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  testing::expect_golden(format_command_multiline(qemu_guest_command(*c)),
                         "qemu_guest_disk_image.txt");
}

// Issue 14 item 18: disk_image = "/tmp/x,y.img" made QEMU open /tmp/x. QEMU reads ",," as one
// comma inside an option list; paths that are whole arguments (-kernel, -bios) stay as they are.
TEST(QemuGuestCommand, CommasInOptionValuesAreDoubled) {
  EXPECT_EQ(qemu_opt_value("/tmp/x,y.img"), "/tmp/x,,y.img");
  EXPECT_EQ(qemu_opt_value(",,"), ",,,,");
  EXPECT_EQ(qemu_opt_value("/plain"), "/plain");
  QemuToucherOptions o;
  o.disk_image = "/tmp/x,y.img";
  o.disk_agent = "/sbin/memplace-agent";
  auto c = qemu_guest_config_for(qemu_cell(PolicyMode::kBind, {0}, BackingKind::kShmem), o,
                                 qemu_72(), "tcg", fixed_paths());
  ASSERT_TRUE(c.ok()) << c.error().describe();
  c->socket_path = "/tmp/a,b/records.sock";
  c->kernel = "/k,1/vmlinuz";
  auto argv = qemu_guest_command(*c);
  auto has = [&](const std::string& arg) {
    return std::find(argv.begin(), argv.end(), arg) != argv.end();
  };
  EXPECT_TRUE(has("file=/tmp/x,,y.img,if=virtio,format=raw,snapshot=on"));
  EXPECT_TRUE(has("socket,id=records,path=/tmp/a,,b/records.sock"));
  EXPECT_TRUE(has("/k,1/vmlinuz"));
}

}  // namespace
}  // namespace memplace
