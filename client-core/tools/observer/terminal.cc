#include "terminal.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>

namespace vigil::observer {

bool StdinIsTerminal() { return isatty(STDIN_FILENO) == 1; }

std::optional<std::string> ReadLine() {
  std::string line;
  if (!std::getline(std::cin, line)) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<std::string> ReadPin(bool pin_stdin, const std::string& prompt) {
  if (pin_stdin) {
    auto line = ReadLine();
    if (!line || line->empty()) {
      return Status::InvalidArgument("--pin-stdin: no PIN on standard input");
    }
    return *line;
  }
  if (!StdinIsTerminal()) {
    return Status::InvalidArgument(
        "this needs the PIN: pass --pin-stdin and write it on standard input (it is never a "
        "command-line argument)");
  }
  std::cerr << prompt << std::flush;
  termios old_attrs{};
  tcgetattr(STDIN_FILENO, &old_attrs);
  termios quiet = old_attrs;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  auto line = ReadLine();
  tcsetattr(STDIN_FILENO, TCSANOW, &old_attrs);
  std::cerr << "\n";
  if (!line || line->empty()) return Status::InvalidArgument("no PIN entered");
  return *line;
}

}  // namespace vigil::observer
