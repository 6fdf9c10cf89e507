// crash_child HOME PIN: finalizes checklists of the form "small" in a loop until killed.
// After each successful Finalize it writes the submission id and a newline to standard
// output in one write(2), so the parent (crash_test.cc) learns exactly which submissions
// the store has promised to keep. Exits 1 on any failure, with the reason on stderr.
#include <unistd.h>

#include <cstdio>
#include <string>

#include "vigil/client/client.h"
#include "vigil/client/key_protector.h"

namespace {

int Fail(const vigil::Status& s) {
  std::fprintf(stderr, "crash_child: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: crash_child HOME PIN\n");
    return 2;
  }
  vigil::client::ScryptParams params;
  params.log2_n = 10;
  auto protector = vigil::client::MakePinKeyProtector(argv[2], params);
  auto opened = vigil::client::Client::Open(argv[1], protector.get());
  if (!opened.ok()) return Fail(opened.status());
  vigil::client::Client& c = **opened;
  // Bounded so that a forgotten child cannot run for ever.
  for (int i = 0; i < 1000000; ++i) {
    auto draft = c.StartDraft("small", "12-03-07-" + std::to_string(1000 + i % 9000));
    if (!draft.ok()) return Fail(draft.status());
    vigil::v1::Value sealed;
    sealed.set_boolean(i % 2 == 0);
    if (vigil::Status s = c.SetAnswer(*draft, "q1_sealed", sealed); !s.ok()) return Fail(s);
    if (i % 2 != 0) {
      vigil::v1::Value why;
      why.set_text("seal number " + std::to_string(i) + " was missing");
      if (vigil::Status s = c.SetAnswer(*draft, "q2_why_not", why); !s.ok()) return Fail(s);
    }
    vigil::v1::Value count;
    count.set_integer(i % 101);
    if (vigil::Status s = c.SetAnswer(*draft, "q3_count", count); !s.ok()) return Fail(s);
    auto id = c.Finalize(*draft);
    if (!id.ok()) return Fail(id.status());
    std::string line = *id + "\n";
    if (write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return 1;
    }
  }
  return 0;
}
