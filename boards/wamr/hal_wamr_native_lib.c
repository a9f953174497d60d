/*
 * The natives as a shared library for the AOT compiler: `wamrc --native-lib=libhal_natives.so`
 * reads their names and signatures through get_native_lib(), so that the AOT code calls
 * mmio_read, mmio_write and barrier directly instead of through WAMR's generic invoke path.
 * wamrc never calls them; at run time the application registers the same table with
 * hal_wamr_register(), and the signatures must agree (they do: it is the same table).
 */
#include "hal_wamr.h"

uint32_t get_native_lib(char **p_module_name, NativeSymbol **p_native_symbols);

uint32_t get_native_lib(char **p_module_name, NativeSymbol **p_native_symbols)
{
    static hal_natives unused;
    uint32_t count;
    *p_native_symbols = hal_wamr_native_symbols(&unused, &count);
    *p_module_name = (char *)"env";
    return count;
}
