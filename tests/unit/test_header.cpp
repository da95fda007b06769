// The public header compiles alone as warning-free C++.
#include "multiproc.h"

int main() { return MP_OK == 0 && MP_FOREVER == -1 ? 0 : 1; }
