// Form definition import and the rules it defines. The input is a FormDefinition in JSON,
// then a NUL byte, then a serialized Submission whose answers are checked against the form:
// JSON -> FormDefinition (syncd's ParseFormJson and protobuf's parser) -> Form::Compile ->
// CheckAnswer, IsRelevant, CheckComplete, RelevantAnswers, FailedQaChecks, CriticalAnswers;
// and client-core's ExampleAnswers over the compiled form.
#include <google/protobuf/util/json_util.h>

#include <cstdlib>

#include "admin/admin.h"
#include "fuzz_support.h"
#include "vigil/client/answer_input.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/v1/records.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = vigil::fuzz::AsText(data, size);
  size_t split = input.find('\0');
  std::string json(input.substr(0, split));
  std::string_view answers_bytes =
      split == std::string_view::npos ? std::string_view() : input.substr(split + 1);

  // A form that `syncd admin` accepts is published to every device: it must survive the
  // protobuf round trip a pull makes (proto3 refuses strings that are not UTF-8).
  vigil::Result<vigil::v1::FormDefinition> imported = vigil::syncd::ParseFormJson(json);
  if (imported.ok()) {
    vigil::v1::FormDefinition copy;
    if (!copy.ParseFromString(imported->SerializeAsString())) std::abort();
  }
  vigil::v1::FormDefinition definition;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  if (!google::protobuf::util::JsonStringToMessage(json, &definition, options).ok()) return 0;
  vigil::Result<vigil::protocol::Form> form = vigil::protocol::Form::Compile(definition);
  if (!form.ok()) return 0;

  vigil::v1::Submission submission;
  if (!submission.ParseFromArray(answers_bytes.data(), static_cast<int>(answers_bytes.size()))) {
    submission.Clear();
  }
  for (const vigil::v1::Answer& answer : submission.answers()) {
    vigil::protocol::ValueToText(answer.value());
    double number = 0;
    vigil::protocol::NumericValue(answer.value(), number);
    if (const vigil::v1::Question* q = form->Find(answer.question_id())) {
      (void)form->CheckAnswer(*q, answer.value());
    }
  }
  for (int i = 1; i < submission.answers_size(); ++i) {
    vigil::protocol::SameValue(submission.answers(i - 1).value(), submission.answers(i).value());
  }
  vigil::protocol::AnswerMap answers = vigil::protocol::MapAnswers(submission.answers());
  for (const vigil::v1::Question& q : form->definition().questions()) {
    form->IsRelevant(q, answers);
    form->Label(q, "km");
  }
  form->FailedQaChecks(answers);
  form->CriticalAnswers(answers);
  (void)form->CheckComplete(submission.answers());
  form->RelevantAnswers(submission.answers());

  // Example answers (training mode) for any compiled form; a form may admit no valid answer
  // (an integer between 0.2 and 0.8), so they are checked but need not pass.
  for (const auto& [question_id, value] : vigil::client::ExampleAnswers(*form, size)) {
    if (const vigil::v1::Question* q = form->Find(question_id)) (void)form->CheckAnswer(*q, value);
  }
  return 0;
}
