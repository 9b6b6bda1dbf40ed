// SPDX-License-Identifier: GPL-2.0-only
#include "qemu/initramfs.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/subprocess.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

// What a .ko's .modinfo section looks like between other sections' bytes.
std::string fake_module(const std::string& name, const std::string& depends) {
  return std::string(
             "\x7f"
             "ELF....",
             8) +
         std::string("license=GPL\0", 12) + "depends=" + depends + std::string("\0", 1) +
         "name=" + name + std::string("\0", 1) + "vermagic=7.3.4 SMP mod_unload" +
         std::string("\0\0", 2);
}

TEST(Initramfs, ModuleNamesFollowTheKernelsSpelling) {
  EXPECT_EQ(module_name_of_file("kvm-amd.ko.xz"), "kvm_amd");
  EXPECT_EQ(module_name_of_file("/x/kernel/virt/lib/irqbypass.ko"), "irqbypass");
  EXPECT_EQ(module_name_of_file("kvm.ko.zst"), "kvm");
}

TEST(Initramfs, ReadsDependsFromModinfo) {
  EXPECT_EQ(module_depends(fake_module("kvm_amd", "kvm,ccp")),
            (std::vector<std::string>{"kvm", "ccp"}));
  EXPECT_TRUE(module_depends(fake_module("irqbypass", "")).empty());
  EXPECT_TRUE(module_depends("no modinfo here").empty());
  // "depends=" must start a modinfo string, not end some other one.
  EXPECT_TRUE(module_depends(std::string("xdepends=kvm\0", 13)).empty());
}

TEST(Initramfs, LoadOrderPutsDependenciesFirstOnce) {
  std::map<std::string, std::vector<std::string>> deps = {
      {"kvm_amd", {"kvm", "ccp"}}, {"kvm", {"irqbypass"}}, {"ccp", {}}, {"irqbypass", {}}};
  auto order = module_load_order({"kvm", "kvm_amd"}, deps);
  ASSERT_TRUE(order.ok()) << order.error().describe();
  EXPECT_EQ(*order, (std::vector<std::string>{"irqbypass", "kvm", "ccp", "kvm_amd"}));
}

TEST(Initramfs, LoadOrderNamesTheMissingDependencyAndCycles) {
  auto missing = module_load_order({"kvm_amd"}, {{"kvm_amd", {"kvm"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("module kvm not found (needed by request -> kvm_amd)"),
            std::string::npos)
      << missing.error().message;
  auto cycle = module_load_order({"a"}, {{"a", {"b"}}, {"b", {"a"}}});
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.error().message.find("cycle"), std::string::npos);
}

TEST(Initramfs, ParsesLddOutput) {
  auto libs = parse_ldd_output(
      "\tlinux-vdso.so.1 (0x00007ffd4b5f2000)\n"
      "\tlibnuma.so.1 => /lib/x86_64-linux-gnu/libnuma.so.1 (0x00007f3c1c6d0000)\n"
      "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f3c1c400000)\n"
      "\t/lib64/ld-linux-x86-64.so.2 (0x00007f3c1c72a000)\n");
  ASSERT_TRUE(libs.ok());
  EXPECT_EQ(*libs, (std::vector<std::string>{"/lib/x86_64-linux-gnu/libnuma.so.1",
                                             "/lib/x86_64-linux-gnu/libc.so.6",
                                             "/lib64/ld-linux-x86-64.so.2"}));
  auto none = parse_ldd_output("\tnot a dynamic executable\n");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_FALSE(parse_ldd_output("\tlibfoo.so.1 => not found\n").ok());
}

TEST(Initramfs, ShellQuoteSurvivesQuotes) {
  EXPECT_EQ(shell_quote("{\"a\":1}"), "'{\"a\":1}'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

size_t run_line_pos(const std::string& script, const std::string& line) {
  return script.find(line);
}

TEST(Initramfs, InitScriptMountsLoadsRunsReportsAndPowersOff) {
  InitScript init;
  init.modules = {{"/lib/modules/memplace/kvm.ko", false},
                  {"/lib/modules/memplace/kvm_amd.ko", true}};
  init.run_line = "/memplace run /spec.toml --stream \"$PORT\"";
  std::string s = render_init_script(init);
  auto at = [&](const std::string& needle) {
    size_t p = s.find(needle);
    EXPECT_NE(p, std::string::npos) << needle << " missing in:\n" << s;
    return p;
  };
  EXPECT_EQ(s.rfind("#!/bin/sh\n", 0), 0u);
  size_t devtmpfs = at("mount -t devtmpfs devtmpfs /dev");
  size_t pcp = at("echo 100000 > /proc/sys/vm/percpu_pagelist_high_fraction");
  size_t tracefs = at("mount -t tracefs nodev /sys/kernel/tracing");
  size_t memcg = at("echo +memory > /sys/fs/cgroup/cgroup.subtree_control");
  EXPECT_LT(tracefs, run_line_pos(s, init.run_line));
  EXPECT_LT(memcg, run_line_pos(s, init.run_line));
  size_t port = at("= 'memplace.0' ] && PORT=/dev/${p##*/}");
  EXPECT_LT(devtmpfs, pcp);
  EXPECT_LT(pcp, run_line_pos(s, init.run_line));
  size_t hello = at("\\\"type\\\":\\\"hello\\\"");
  size_t kvm = at("insmod '/lib/modules/memplace/kvm.ko' 2>/dev/null || say");
  size_t amd = at("insmod '/lib/modules/memplace/kvm_amd.ko' 2>/dev/null\n");
  size_t run = at(init.run_line);
  size_t end = at("\\\"type\\\":\\\"end\\\",\\\"exit_code\\\":$?");
  size_t off = at("poweroff -f");
  EXPECT_LT(devtmpfs, port);
  EXPECT_LT(port, hello);
  EXPECT_LT(hello, kvm);
  EXPECT_LT(kvm, amd);
  EXPECT_LT(amd, run);
  EXPECT_LT(run, end);
  EXPECT_LT(end, off);
  for (const auto& applet : {"mount", "insmod", "poweroff", "cat", "uname"}) {
    EXPECT_NE(std::find(init_applets().begin(), init_applets().end(), applet), init_applets().end())
        << applet;
  }
}

class InitramfsBuild : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("memplace-initramfs-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "mods/kernel/arch/x86/kvm");
    fs::create_directories(dir_ / "mods/kernel/virt/lib");
    write(dir_ / "mods/kernel/arch/x86/kvm/kvm.ko", fake_module("kvm", "irqbypass"));
    write(dir_ / "mods/kernel/arch/x86/kvm/kvm-amd.ko", fake_module("kvm_amd", "kvm"));
    write(dir_ / "mods/kernel/virt/lib/irqbypass.ko", fake_module("irqbypass", ""));
    // Debian ships .ko.xz: exercise the decompression path too.
    auto xz = run_command({"xz", "-f", (dir_ / "mods/kernel/virt/lib/irqbypass.ko").string()});
    ASSERT_TRUE(xz.ok() && xz->exit_code == 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  static void write(const fs::path& p, const std::string& s) {
    std::ofstream(p, std::ios::binary) << s;
  }
  fs::path dir_;
};

TEST_F(InitramfsBuild, HoldsBusyboxModulesProgramWithLibrariesAndInit) {
  if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "no /bin/busybox (busybox-static)";
  InitramfsInputs in;
  in.modules_dir = (dir_ / "mods").string();
  in.programs["/bin/true"] = "memplace";
  in.extra_files.push_back(cpio_file("spec.toml", "name = \"x\"\n"));
  in.run_line = "/memplace";
  auto image = build_initramfs(in);
  ASSERT_TRUE(image.ok()) << image.error().describe();
  // kvm_intel is optional and absent here; kvm_amd is present.
  EXPECT_EQ(image->modules_loaded, (std::vector<std::string>{"irqbypass", "kvm", "kvm_amd"}));

  std::string archive = (dir_ / "initrd.cpio").string();
  write(archive, image->bytes);
  auto list = run_command({"sh", "-c", "cpio -it < " + archive});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->exit_code, 0) << list->err;
  auto libs = run_command({"ldd", "/bin/true"});
  ASSERT_TRUE(libs.ok());
  auto closure = parse_ldd_output(libs->out);
  ASSERT_TRUE(closure.ok());
  ASSERT_FALSE(closure->empty());
  std::vector<std::string> expected = {"init",
                                       "bin/busybox",
                                       "bin/sh",
                                       "bin/insmod",
                                       "memplace",
                                       "spec.toml",
                                       "dev/console",
                                       "proc",
                                       "sys",
                                       "tmp",
                                       "lib/modules/memplace/irqbypass.ko",
                                       "lib/modules/memplace/kvm.ko",
                                       "lib/modules/memplace/kvm_amd.ko"};
  for (const auto& lib : *closure) expected.push_back(lib.substr(1));  // loader included
  std::istringstream lines(list->out);
  std::vector<std::string> names;
  for (std::string l; std::getline(lines, l);) names.push_back(l);
  for (const auto& e : expected) {
    EXPECT_NE(std::find(names.begin(), names.end(), e), names.end()) << e << " missing in:\n"
                                                                     << list->out;
  }
  // The decompressed module is the original bytes.
  auto ex = run_command({"sh", "-c",
                         "cd " + dir_.string() + " && cpio -i --to-stdout " +
                             "lib/modules/memplace/irqbypass.ko < " + archive});
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->out, fake_module("irqbypass", ""));
}

TEST_F(InitramfsBuild, MissingRequiredModuleIsAnError) {
  if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "no /bin/busybox (busybox-static)";
  fs::remove(dir_ / "mods/kernel/arch/x86/kvm/kvm.ko");
  InitramfsInputs in;
  in.modules_dir = (dir_ / "mods").string();
  auto image = build_initramfs(in);
  ASSERT_FALSE(image.ok());
  EXPECT_NE(image.error().message.find("module kvm not found"), std::string::npos)
      << image.error().message;
}

}  // namespace
}  // namespace memplace
