using System.Runtime.InteropServices;

namespace MultiLora.Core.Runtime;

/// <summary>
/// glibc malloc settings for libtorch on the CPU. Tensor buffers are large and change size from step to step
/// (batches of different lengths). glibc's default raises its mmap threshold each time a large block is freed,
/// so later tensors come from the heap arenas, which fragment and are not given back to the system: resident
/// memory then climbs and swings by gigabytes over a training run (measured: full fine-tuning of a 108M model,
/// 3.5 to 13 GB between steps 10 and 200). A fixed threshold keeps every tensor-sized block in its own mapping,
/// returned to the system when freed, and few arenas keep the loader threads from each holding their own.
/// Environment variables of the same names (MALLOC_MMAP_THRESHOLD_ ...) set before start take precedence.
/// </summary>
static partial class NativeAllocator
{
    const int M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3, M_ARENA_MAX = -8;
    const int MmapThresholdBytes = 128 * 1024, TrimThresholdBytes = 128 * 1024, ArenaMax = 2;

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int Mallopt(int param, int value);

    /// <summary>Applies the settings on glibc Linux (a no-op elsewhere or where the environment already chose).</summary>
    public static void Configure()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            if (Environment.GetEnvironmentVariable("MALLOC_MMAP_THRESHOLD_") is null) Mallopt(M_MMAP_THRESHOLD, MmapThresholdBytes);
            if (Environment.GetEnvironmentVariable("MALLOC_TRIM_THRESHOLD_") is null) Mallopt(M_TRIM_THRESHOLD, TrimThresholdBytes);
            if (Environment.GetEnvironmentVariable("MALLOC_ARENA_MAX") is null) Mallopt(M_ARENA_MAX, ArenaMax);
        }
        catch (EntryPointNotFoundException) { }   // not glibc (e.g. musl): its allocator has no such knobs
        catch (DllNotFoundException) { }
    }
}
