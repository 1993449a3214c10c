#include "mailharvest/error.h"

G_DEFINE_QUARK (mh-error-quark, mh_error)
