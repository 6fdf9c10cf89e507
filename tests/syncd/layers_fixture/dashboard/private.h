// A dashboard file that includes the store's own header: refused.
#pragma once
#include "store/sql_store.h"
