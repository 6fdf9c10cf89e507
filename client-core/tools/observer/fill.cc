#include "fill.h"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include "terminal.h"
#include "vigil/client/answer_input.h"

namespace vigil::observer {
namespace {

std::string TypeHint(const v1::Question& q) {
  switch (q.type()) {
    case v1::YES_NO:
      return "yes/no";
    case v1::INTEGER:
    case v1::DECIMAL:
      return "number";
    case v1::SELECT_ONE:
      return "one number from the list";
    case v1::SELECT_MANY:
      return "numbers separated by commas, or - for none";
    case v1::TIME:
      return "HH:MM";
    case v1::DATE_TIME:
      return "now or YYYY-MM-DD HH:MM";
    case v1::LOCATION:
      return "lat,lon";
    case v1::PHOTO_REFERENCE:
      return "photo file";
    default:
      return "text";
  }
}

uint64_t SeedFor(const std::string& station, const std::string& form_id) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  std::string key = station;
  key += '/';
  key += form_id;
  for (char c : key) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

Status Interactive(client::Client& client, const std::string& draft, const protocol::Form& form,
                   const std::string& lang) {
  const v1::FormDefinition& def = form.definition();
  std::cerr << protocol::Form::LabelIn(def.title(), lang, def.default_language(), def.form_id())
            << "  (" << def.form_id() << " v" << def.version() << ")\n";
  for (const v1::Question& q : def.questions()) {
    VIGIL_ASSIGN_OR_RETURN(std::vector<std::string> relevant, client.RelevantQuestions(draft));
    if (std::find(relevant.begin(), relevant.end(), q.id()) == relevant.end()) {
      std::cerr << "  (skipped: " << q.id() << " does not apply)\n";
      continue;
    }
    while (true) {
      std::cerr << "\n" << form.Label(q, lang) << (q.required() ? " *" : "") << "\n";
      for (int i = 0; i < q.options_size(); ++i) {
        std::cerr << "  " << (i + 1) << ") "
                  << protocol::Form::LabelIn(q.options(i).label(), lang, def.default_language(),
                                             q.options(i).id())
                  << "\n";
      }
      std::cerr << "[" << TypeHint(q) << "]> " << std::flush;
      auto line = ReadLine();
      if (!line) return Status::Aborted("input ended; the draft is kept and can be resumed");
      if (line->empty()) {
        if (!q.required()) break;
        std::cerr << "  an answer is required\n";
        continue;
      }
      Status s = client.SetAnswerText(draft, q.id(), *line);
      if (s.ok()) break;
      std::cerr << "  " << s.message() << "\n";
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> Fill(client::Client& client, const FillOptions& options) {
  VIGIL_ASSIGN_OR_RETURN(protocol::Form form, client.GetForm(options.form_id, options.version));
  std::vector<std::pair<std::string, v1::Value>> answers;
  if (!options.answers_file.empty()) {
    std::ifstream in(options.answers_file);
    if (!in) return Status::NotFound("cannot read " + options.answers_file);
    std::ostringstream text;
    text << in.rdbuf();
    VIGIL_ASSIGN_OR_RETURN(answers, client::ParseAnswersJson(form, text.str()));
  }
  VIGIL_ASSIGN_OR_RETURN(std::string draft, client.StartDraft(options.form_id, options.station,
                                                              form.definition().version()));
  Status filled;
  if (options.example) {
    uint64_t seed = options.seed != 0 ? options.seed : SeedFor(options.station, options.form_id);
    filled = client.SetAnswers(draft, client::ExampleAnswers(form, seed), true);
  } else if (!options.answers_file.empty()) {
    filled = client.SetAnswers(draft, answers);
  } else {
    filled = Interactive(client, draft, form, options.lang);
  }
  if (filled.ok() && options.location) filled = client.SetLocation(draft, *options.location);
  if (!filled.ok()) {
    if (filled.code() != StatusCode::kAborted) (void)client.DiscardDraft(draft);
    return filled;
  }
  // The form's cross-field checks: warnings, never a refusal (syncd flags them too).
  VIGIL_ASSIGN_OR_RETURN(std::vector<client::QaWarning> warnings, client.QaWarnings(draft));
  for (const client::QaWarning& w : warnings) {
    google::protobuf::Map<std::string, std::string> label(w.label.begin(), w.label.end());
    std::cerr << "warning: " << protocol::Form::LabelIn(label, options.lang, "en", w.check_id)
              << " (" << w.check_id << ")\n";
  }
  auto id = client.Finalize(draft);
  if (!id.ok() && (options.example || !options.answers_file.empty())) {
    (void)client.DiscardDraft(draft);  // Nothing to resume: the input itself is incomplete.
  }
  return id;
}

}  // namespace vigil::observer
