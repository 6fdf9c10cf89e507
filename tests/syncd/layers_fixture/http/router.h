// The router.
#pragma once
