// A store file that reaches up into http/: the layering check must refuse it.
#pragma once
#include "http/router.h"
