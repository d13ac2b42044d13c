using MultiLora.Core.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Core.Diagnostics;

/// <summary>The CUDA caching allocator's byte counters for one device (c10 DeviceStats, aggregate pool).</summary>
public readonly record struct AllocatorReading(long AllocatedBytes, long PeakAllocatedBytes, long ReservedBytes, long PeakReservedBytes);

/// <summary>
/// libtorch's CUDA caching allocator statistics, the numbers behind torch.cuda.max_memory_allocated and
/// reset_peak_memory_stats, which TorchSharp 0.107 does not expose. Two routes, the first that exists:
/// 1. exported free functions at::accelerator::getDeviceStats / resetPeakStats (newer libtorch);
/// 2. virtual calls on the CUDA allocator object (c10::cuda::CUDACachingAllocator::allocator, or
///    c10::GetAllocator(CUDA)) at the slots <see cref="DeviceAllocatorVTable"/> reads off libc10.
/// Either route is accepted only after <see cref="Probe"/> saw a 32 MiB allocation move the counters by exactly
/// 32 MiB, so a layout this code does not know reads as "unavailable", not as wrong numbers. A wrong slot could
/// still crash the process on first call: run the probe in a process of its own first (benchmarks/gpu/run-comparison.sh
/// does) and fall back to <see cref="NvmlMemoryPoller"/> where it fails.
/// Layout used: DeviceStats starts with nine StatArrays (3 pools x {current, peak, allocated, freed} int64);
/// allocated_bytes is the fifth, reserved_bytes the sixth; the aggregate pool comes first. That prefix is the same
/// in every libtorch 2.x.
/// </summary>
public static unsafe class CudaAllocatorStats
{
    const string AcceleratorStats = "_ZN2at11accelerator14getDeviceStatsEa";
    const string AcceleratorResetPeak = "_ZN2at11accelerator14resetPeakStatsEa";
    const string CudaAllocatorObject = "_ZN3c104cuda20CUDACachingAllocator9allocatorE";
    const string GetAllocator = "_ZN3c1012GetAllocatorERKNS_10DeviceTypeE";
    const int StatBytes = 4 * sizeof(long);
    const int StatArrayBytes = 3 * StatBytes;
    const int AllocatedBytesOffset = 4 * StatArrayBytes;
    const int ReservedBytesOffset = 5 * StatArrayBytes;
    const int ResultBufferBytes = 4096;   // DeviceStats is under 1 KiB in every version; room for growth

    static readonly object Gate = new();
    static Route? _route;
    static string _description = "not probed";

    /// <summary>Which route reads the counters, or why none does.</summary>
    public static string Description { get { lock (Gate) return _description; } }

    /// <summary>
    /// Finds a route and checks it against a known allocation on <paramref name="device"/> (initialises CUDA).
    /// Returns false (see <see cref="Description"/>) on a CPU-only libtorch or when no route passes.
    /// </summary>
    public static bool Probe(int device = 0)
    {
        lock (Gate)
        {
            if (_route is not null) return true;
            if (!TorchRuntime.CudaAvailable()) { _description = "CUDA is not available"; return false; }
            using (empty(1, device: new Device(DeviceType.CUDA, device))) { }   // the allocator initialises lazily
            var failures = new List<string>();
            foreach (var candidate in Candidates(failures))
            {
                if (Validate(candidate, device, out string why)) { _route = candidate; _description = candidate.Name; return true; }
                failures.Add($"{candidate.Name}: {why}");
            }
            _description = "no route to the CUDA allocator's statistics: " + string.Join("; ", failures);
            return false;
        }
    }

    /// <summary>The counters of <paramref name="device"/>, or null when <see cref="Probe"/> found no route.</summary>
    public static AllocatorReading? Read(int device = 0)
    {
        lock (Gate) return _route is null ? null : ReadWith(_route, device);
    }

    /// <summary>Restarts the peaks at the current values (reset_peak_memory_stats); false without a route.</summary>
    public static bool ResetPeak(int device = 0)
    {
        lock (Gate)
        {
            if (_route is null) return false;
            _route.ResetPeak((sbyte)device);
            return true;
        }
    }

    sealed class Route(string name, delegate*<byte*, sbyte, void> read, delegate*<sbyte, void> resetPeak)
    {
        public string Name { get; } = name;
        public void Read(byte* result, sbyte device) => read(result, device);
        public void ResetPeak(sbyte device) => resetPeak(device);
    }

    // The unmanaged entry points, bound once a candidate is chosen (function pointers into libtorch).
    static delegate* unmanaged<byte*, sbyte, void> _freeRead;
    static delegate* unmanaged<sbyte, void> _freeReset;
    static IntPtr _allocator;
    static delegate* unmanaged<byte*, IntPtr, sbyte, void> _virtualRead;   // sret, this, device (Itanium ABI)
    static delegate* unmanaged<IntPtr, sbyte, void> _virtualReset;

    static void FreeRead(byte* result, sbyte device) => _freeRead(result, device);
    static void FreeReset(sbyte device) => _freeReset(device);
    static void VirtualRead(byte* result, sbyte device) => _virtualRead(result, _allocator, device);
    static void VirtualReset(sbyte device) => _virtualReset(_allocator, device);

    static List<Route> Candidates(List<string> failures)
    {
        var routes = new List<Route>();
        if (TorchRuntime.TryGetExport(AcceleratorStats, out var read) && TorchRuntime.TryGetExport(AcceleratorResetPeak, out var reset))
        {
            _freeRead = (delegate* unmanaged<byte*, sbyte, void>)read;
            _freeReset = (delegate* unmanaged<sbyte, void>)reset;
            routes.Add(new Route("at::accelerator::getDeviceStats (exported)", &FreeRead, &FreeReset));
        }
        else failures.Add($"{AcceleratorStats}: not exported");
        if (VirtualRoute(failures) is { } virtualRoute) routes.Add(virtualRoute);
        return routes;
    }

    static Route? VirtualRoute(List<string> failures)
    {
        var slots = DeviceAllocatorVTable.Discover(out string why);
        if (slots is null) { failures.Add("vtable: " + why); return null; }
        IntPtr allocator = IntPtr.Zero;
        if (TorchRuntime.TryGetExport(CudaAllocatorObject, out var atomic)) allocator = *(IntPtr*)atomic;   // std::atomic<CUDAAllocator*>
        else if (TorchRuntime.TryGetExport(GetAllocator, out var get))
        {
            sbyte cuda = (sbyte)DeviceType.CUDA;
            allocator = ((delegate* unmanaged<sbyte*, IntPtr>)get)(&cuda);
        }
        if (allocator == IntPtr.Zero) { failures.Add("vtable: no CUDA allocator object found"); return null; }
        var vtable = *(IntPtr**)allocator;
        IntPtr readSlot = vtable[slots.Value.GetDeviceStats], resetSlot = vtable[slots.Value.ResetPeakStats];
        // the implementations must live in the CUDA libraries, not in c10's abstract base
        string? library = DeviceAllocatorVTable.LibraryOf(readSlot);
        if (library is not null && !library.Contains("cuda", StringComparison.OrdinalIgnoreCase))
        {
            failures.Add($"vtable: slot {slots.Value.GetDeviceStats} points into {library}, not a CUDA library");
            return null;
        }
        _allocator = allocator;
        _virtualRead = (delegate* unmanaged<byte*, IntPtr, sbyte, void>)readSlot;
        _virtualReset = (delegate* unmanaged<IntPtr, sbyte, void>)resetSlot;
        return new Route($"CUDA allocator vtable slots {slots.Value.GetDeviceStats}/{slots.Value.ResetPeakStats}", &VirtualRead, &VirtualReset);
    }

    static AllocatorReading ReadWith(Route route, int device)
    {
        var buffer = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(ResultBufferBytes, 64);
        try
        {
            new Span<byte>(buffer, ResultBufferBytes).Clear();
            route.Read(buffer, (sbyte)device);
            long* allocated = (long*)(buffer + AllocatedBytesOffset);
            long* reserved = (long*)(buffer + ReservedBytesOffset);
            return new AllocatorReading(allocated[0], allocated[1], reserved[0], reserved[1]);
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(buffer); }
    }

    /// <summary>A 32 MiB tensor must show up in allocated bytes exactly, its peak too, and go again when freed.</summary>
    static bool Validate(Route route, int device, out string why)
    {
        const long bytes = 32L << 20;
        var before = ReadWith(route, device);
        AllocatorReading during;
        using (var t = empty(bytes / 4, ScalarType.Float32, new Device(DeviceType.CUDA, device)))
            during = ReadWith(route, device);
        var after = ReadWith(route, device);
        if (during.AllocatedBytes - before.AllocatedBytes != bytes || during.PeakAllocatedBytes < during.AllocatedBytes
            || after.AllocatedBytes != before.AllocatedBytes || during.ReservedBytes < during.AllocatedBytes)
        {
            why = $"a {bytes >> 20} MiB allocation read as allocated {before.AllocatedBytes} -> {during.AllocatedBytes} -> {after.AllocatedBytes}, peak {during.PeakAllocatedBytes}, reserved {during.ReservedBytes}";
            return false;
        }
        route.ResetPeak((sbyte)device);
        var reset = ReadWith(route, device);
        if (reset.PeakAllocatedBytes != reset.AllocatedBytes)
        {
            why = $"after resetPeakStats the peak reads {reset.PeakAllocatedBytes}, allocated {reset.AllocatedBytes}";
            return false;
        }
        why = "";
        return true;
    }
}
