// memplace: parses arguments and hands them to the core library. Nothing else lives here.
#include <cstdio>

int main(int argc, char** argv) {
  std::fprintf(stderr, "memplace: not wired yet\n");
  return 2;
}
