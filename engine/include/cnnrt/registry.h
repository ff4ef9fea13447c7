// The kernel registry: op name -> the factory that builds a step kernel at compile time.
#pragma once
#include <string>
#include <vector>

#include "cnnrt/step.h"

namespace cnnrt {

StepFactory find_step_factory(const std::string& op);  // nullptr for an unknown op
std::vector<std::string> step_ops();                   // every registered op name

}  // namespace cnnrt
