// Terminal input for the observer command line: the PIN (never an argument) and answers.
#pragma once

#include <optional>
#include <string>

#include "vigil/status.h"

namespace vigil::observer {

// Reads the PIN: one line from standard input with --pin-stdin, otherwise a prompt on the
// terminal with echo off. Fails when neither is possible (no terminal, no --pin-stdin).
Result<std::string> ReadPin(bool pin_stdin, const std::string& prompt);

// One line from standard input, without the newline; nullopt at end of input.
std::optional<std::string> ReadLine();

// True when standard input is a terminal.
bool StdinIsTerminal();

}  // namespace vigil::observer
