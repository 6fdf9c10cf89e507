// What observers type: client-core's ParseAnswerText for each question type of a fixed form
// (first byte picks the question, the rest is the text), and ParseAnswersJson (first byte past
// the questions). Whatever parses is then checked against the form as Client::SetAnswer does.
#include "fuzz_support.h"
#include "vigil/client/answer_input.h"
#include "vigil/protocol/form_rules.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const vigil::protocol::Form* form = [] {
    vigil::Result<vigil::protocol::Form> compiled =
        vigil::protocol::Form::Compile(vigil::fuzz::SampleForm());
    if (!compiled.ok()) std::abort();
    return new vigil::protocol::Form(std::move(compiled).value());
  }();
  if (size == 0) return 0;
  std::string_view text = vigil::fuzz::AsText(data + 1, size - 1);
  const auto& questions = form->definition().questions();
  if (data[0] < questions.size()) {
    const vigil::v1::Question& q = questions.Get(data[0]);
    // A photo answer may name a file to hash; the fuzzer must not read the filesystem.
    if (q.type() == vigil::v1::PHOTO_REFERENCE && text.substr(0, 7) != "sha256:") return 0;
    vigil::Result<vigil::v1::Value> value = vigil::client::ParseAnswerText(q, text);
    if (value.ok()) {
      (void)form->CheckAnswer(q, *value);
      vigil::protocol::ValueToText(*value);
    }
    return 0;
  }
  auto answers = vigil::client::ParseAnswersJson(*form, text);
  if (answers.ok()) {
    for (const auto& [question_id, value] : *answers) {
      if (const vigil::v1::Question* q = form->Find(question_id))
        (void)form->CheckAnswer(*q, value);
    }
  }
  return 0;
}
