// A main() for the fuzz harnesses where libFuzzer is not linked (g++, or a
// clang build without -Dfuzz=enabled): runs LLVMFuzzerTestOneInput once on
// every file named on the command line, or on every file of a named
// directory. The corpus then works as a regression suite in any build.
#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {

bool read_file(const std::string &path, std::vector<uint8_t> *out) {
  FILE *f = fopen(path.c_str(), "rb");
  if (!f) return false;
  out->clear();
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out->insert(out->end(), buf, buf + n);
  fclose(f);
  return true;
}

// Files of a directory, sorted so that runs are reproducible.
std::vector<std::string> list(const std::string &path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {path};
  std::vector<std::string> files;
  if (DIR *d = opendir(path.c_str())) {
    while (struct dirent *e = readdir(d))
      if (e->d_name[0] != '.') files.push_back(path + "/" + e->d_name);
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char **argv) {
  int ran = 0;
  for (int i = 1; i < argc; ++i) {
    for (const std::string &file : list(argv[i])) {
      std::vector<uint8_t> data;
      if (!read_file(file, &data)) {
        fprintf(stderr, "replay: cannot read %s\n", file.c_str());
        return 1;
      }
      fprintf(stderr, "replay: %s (%zu bytes)\n", file.c_str(), data.size());
      LLVMFuzzerTestOneInput(data.data(), data.size());
      ++ran;
    }
  }
  printf("replayed %d inputs\n", ran);
  return ran > 0 ? 0 : 1;
}
