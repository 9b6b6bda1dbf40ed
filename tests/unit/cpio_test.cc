// SPDX-License-Identifier: GPL-2.0-only
#include "base/cpio.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/subprocess.h"

namespace memplace {
namespace {

namespace fs = std::filesystem;

std::vector<CpioEntry> sample() {
  return complete_tree({
      cpio_file("bin/busybox",
                std::string("\x7f"
                            "ELF fake",
                            9),
                0755),
      cpio_symlink("bin/sh", "busybox"),
      cpio_file("init", "#!/bin/sh\necho hi\n", 0755),
      cpio_file("lib/modules/memplace/kvm.ko", std::string(4097, 'k')),
      cpio_file("empty", ""),
      cpio_chardev("dev/console", 5, 1),
      cpio_dir("proc"),
  });
}

TEST(Cpio, CompleteTreeAddsParentsFirstAndDropsDuplicates) {
  auto entries = complete_tree({cpio_file("a/b/c", "1"), cpio_file("/a/b/c", "2"), cpio_dir("a")});
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].path, "a");
  EXPECT_EQ(entries[0].kind, CpioEntry::Kind::kDir);
  EXPECT_EQ(entries[1].path, "a/b");
  EXPECT_EQ(entries[2].path, "a/b/c");
  EXPECT_EQ(entries[2].data, "2");
}

TEST(Cpio, HeaderLayoutIsNewcWithAlignedRecordsAndATrailer) {
  std::string bytes = cpio_newc({cpio_file("x", "abc")});
  EXPECT_EQ(bytes.substr(0, 6), "070701");
  EXPECT_EQ(bytes.size() % 4, 0u);
  // Header (110) + "x\0" padded to 112, data 3 padded to 4, then the trailer.
  EXPECT_EQ(bytes.substr(110, 2), std::string("x\0", 2));
  EXPECT_EQ(bytes.substr(112, 3), "abc");
  EXPECT_NE(bytes.find("TRAILER!!!"), std::string::npos);
  // filesize field (8th after the magic) is 3.
  EXPECT_EQ(bytes.substr(6 + 6 * 8, 8), "00000003");
}

TEST(Cpio, GnuCpioListsAndExtractsTheArchive) {
  fs::path dir = fs::temp_directory_path() / ("memplace-cpio-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "x");
  std::string archive = (dir / "a.cpio").string();
  {
    std::ofstream f(archive, std::ios::binary);
    f << cpio_newc(sample());
  }
  auto list = run_command({"sh", "-c", "cpio -itv < " + archive});
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->exit_code, 0) << list->err;
  for (const char* name : {"bin/busybox", "bin/sh -> busybox", "init",
                           "lib/modules/memplace/kvm.ko", "dev/console", "proc"}) {
    EXPECT_NE(list->out.find(name), std::string::npos) << name << " missing in:\n" << list->out;
  }
  EXPECT_NE(list->out.find("crw-------"), std::string::npos) << list->out;
  EXPECT_NE(list->out.find("-rwxr-xr-x"), std::string::npos) << list->out;

  auto ex = run_command(
      {"sh", "-c",
       "cd " + (dir / "x").string() + " && cpio -id --no-absolute-filenames < " + archive});
  ASSERT_TRUE(ex.ok());
  ASSERT_EQ(ex->exit_code, 0) << ex->err;
  std::ifstream init(dir / "x" / "init");
  std::stringstream ss;
  ss << init.rdbuf();
  EXPECT_EQ(ss.str(), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(fs::file_size(dir / "x/lib/modules/memplace/kvm.ko"), 4097u);
  EXPECT_EQ(fs::file_size(dir / "x/empty"), 0u);
  EXPECT_TRUE(fs::is_symlink(dir / "x/bin/sh"));
  EXPECT_EQ(fs::read_symlink(dir / "x/bin/sh"), "busybox");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace memplace
