package multiproc

import "multiproc.dev/multiproc/internal/capi"

// The C enums the package passes to the library. SWIG's Go module names
// `enum mp_x` Enum_SS_mp_x; this file is the one place that spelling
// appears, every value is the generated constant by name (capi.MP_*).
type (
	cStream     = capi.Enum_SS_mp_stream
	cStdio      = capi.Enum_SS_mp_stdio
	cStopAction = capi.Enum_SS_mp_stop_action
	cPoolStat   = capi.Enum_SS_mp_pool_stat
	cType       = capi.Enum_SS_mp_type // Type's values are mp_type's (TestTypeIsCType)
	cMethod     = capi.Enum_SS_mp_start_method
)
