// The rules a form definition imposes on answers, shared by the device (while filling) and
// syncd (on ingest and merge): form well-formedness, per-answer type/option/bound checks,
// relevance (skip logic), required-when-relevant, QA checks and critical answers.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"
#include "vigil/v1/forms.pb.h"
#include "vigil/v1/records.pb.h"

namespace vigil::protocol {

// Longest TEXT answer accepted when a question sets no max.
inline constexpr size_t kDefaultMaxTextLength = 10000;
// Most questions one form may have.
inline constexpr int kMaxQuestionsPerForm = 1000;

// Answers by question id (values point into caller-owned messages).
using AnswerMap = std::map<std::string, const v1::Value*, std::less<>>;

// Builds an AnswerMap over a repeated Answer field.
AnswerMap MapAnswers(const google::protobuf::RepeatedPtrField<v1::Answer>& answers);

// A form definition with its questions indexed by id. Holds a copy of the definition.
class Form {
 public:
  // Checks the definition (ids, types, options, bounds, conditions, QA terms) and indexes it.
  static Result<Form> Compile(v1::FormDefinition definition);

  const v1::FormDefinition& definition() const { return definition_; }
  // The question with this id, or nullptr.
  const v1::Question* Find(std::string_view question_id) const;
  // The label in `lang`, else the form's default language, else English, else the id.
  std::string Label(const v1::Question& q, std::string_view lang) const;
  static std::string LabelIn(const google::protobuf::Map<std::string, std::string>& labels,
                             std::string_view lang, std::string_view fallback_lang,
                             std::string_view fallback);

  // True when every relevance condition of `q` holds (and the questions they name are
  // themselves relevant).
  bool IsRelevant(const v1::Question& q, const AnswerMap& answers) const;

  // Checks one answer against its question: type, options, bounds. The message names the
  // question and what is wrong.
  Status CheckAnswer(const v1::Question& q, const v1::Value& value) const;

  // Checks a whole answer set as at finalize: every answer valid and for a known question,
  // no duplicate, and every relevant required question answered (the error names the first
  // missing one). Irrelevant answers are allowed here; see RelevantAnswers.
  Status CheckComplete(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const;

  // What syncd checks of a finalized answer set (docs/protocol.md §8.5), in one pass: every
  // answer valid and for a known question, none twice, every relevant required question
  // answered, and no answer to a question that is not relevant (the device keeps only
  // relevant answers at finalize). The message names the first question that fails.
  Status CheckFinalized(const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const;

  // True when any question has critical_when conditions.
  bool HasCriticalConditions() const;

  // The answers to keep at finalize: relevant ones, in form order.
  google::protobuf::RepeatedPtrField<v1::Answer> RelevantAnswers(
      const google::protobuf::RepeatedPtrField<v1::Answer>& answers) const;

  // Ids of QA checks that fail. A check naming an unanswered question is skipped.
  std::vector<std::string> FailedQaChecks(const AnswerMap& answers) const;

  // Ids of questions whose answer meets one of their critical_when conditions.
  std::vector<std::string> CriticalAnswers(const AnswerMap& answers) const;

 private:
  explicit Form(v1::FormDefinition definition) : definition_(std::move(definition)) {}
  // Relevance of each question by position, filled as it is worked out (-1: not yet), so that
  // one evaluation visits each question once however many conditions share it.
  using RelevanceMemo = std::vector<signed char>;
  bool Holds(const v1::Condition& c, const AnswerMap& answers, RelevanceMemo& memo) const;
  bool IsRelevantAt(const v1::Question& q, const AnswerMap& answers, RelevanceMemo& memo) const;

  v1::FormDefinition definition_;
  std::map<std::string, int, std::less<>> index_;  // question id -> position
};

// The number of code points in `s`, or -1 when it is not strict UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF). Protobuf refuses to parse such strings, so
// they must never be stored.
long Utf8Length(std::string_view s);

// kInvalidArgument naming `what` unless `text` is strict UTF-8 of at most `max_chars`.
Status CheckText(std::string_view text, std::string_view what, size_t max_chars);

// True when two values are the same answer (SELECT_MANY compared as sets).
bool SameValue(const v1::Value& a, const v1::Value& b);

// A value as people read it: "yes", "42", "ballots, seals", "12:30".
std::string ValueToText(const v1::Value& value);

// The numeric value of an INTEGER/DECIMAL answer; false when it has none.
bool NumericValue(const v1::Value& value, double& out);

}  // namespace vigil::protocol
