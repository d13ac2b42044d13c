using System.Runtime.InteropServices;
using MultiLora.Core.Runtime;

namespace MultiLora.Core.Diagnostics;

/// <summary>
/// Where c10::DeviceAllocator keeps getDeviceStats and resetPeakStats in its vtable, read off the vtable that
/// libc10 exports (symbol <see cref="VTableSymbol"/>), not assumed from one libtorch version's header.
/// Why: libtorch declares the functions torch.cuda.max_memory_allocated uses (CUDACachingAllocator::getDeviceStats,
/// resetPeakStats) inline in headers, so no exported symbol reaches them; they are virtual calls on the CUDA
/// allocator object. DeviceAllocator is abstract and its own virtuals end with
/// "... getDeviceStats, resetAccumulatedStats, resetPeakStats" (all pure, after c10::Allocator's pure copy_data and
/// DeviceAllocator's pure initialized/emptyCache/recordStream), optionally followed by non-pure additions
/// (getMemoryInfo in newer versions). Pure entries all hold the same pointer (__cxa_pure_virtual), so the first
/// run of at least <see cref="MinPureRun"/> equal entries ends at resetPeakStats, and getDeviceStats is two before.
/// On libtorch 2.10 (c10::Allocator has 6 slots) that gives 9 and 11.
/// </summary>
public static unsafe partial class DeviceAllocatorVTable
{
    public const string VTableSymbol = "_ZTVN3c1015DeviceAllocatorE";
    const int MinPureRun = 6;
    const int MaxSlots = 24;

    public readonly record struct Slots(int GetDeviceStats, int ResetPeakStats);

    /// <summary>The slots, or null with the reason (no such export in this libtorch, or no run of pure entries).</summary>
    public static Slots? Discover(out string why)
    {
        if (!TorchRuntime.TryGetExport(VTableSymbol, out var symbol))
        {
            why = $"{VTableSymbol} is not exported by the loaded libtorch (older than 2.8?)";
            return null;
        }
        var entries = new IntPtr[MaxSlots];
        var first = (IntPtr*)(symbol + 2 * IntPtr.Size);   // skip offset-to-top and the typeinfo pointer
        for (int i = 0; i < MaxSlots; i++) entries[i] = first[i];
        return FromEntries(entries, out why);
    }

    /// <summary>The slot arithmetic on a vtable's entries (separate so its rule is testable on any array).</summary>
    public static Slots? FromEntries(IReadOnlyList<IntPtr> entries, out string why)
    {
        for (int start = 0; start + MinPureRun <= entries.Count; start++)
        {
            var pure = entries[start];
            if (pure == IntPtr.Zero) continue;
            int end = start;
            while (end + 1 < entries.Count && entries[end + 1] == pure) end++;
            if (end - start + 1 < MinPureRun) { start = end; continue; }
            if (SymbolName(pure) is { } name && name != "__cxa_pure_virtual")
            {
                why = $"the repeated vtable entry is {name}, not __cxa_pure_virtual";
                return null;
            }
            why = "";
            return new Slots(end - 2, end);
        }
        why = $"no run of {MinPureRun} pure virtual entries in the first {entries.Count} slots";
        return null;
    }

    /// <summary>The exported symbol at exactly <paramref name="address"/>, or null (dladdr).</summary>
    public static string? SymbolName(IntPtr address)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            if (DlAddr(address, out var info) == 0 || info.SymbolAddress != address || info.SymbolName == IntPtr.Zero) return null;
            return Marshal.PtrToStringUTF8(info.SymbolName);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>The file of the loaded library that holds <paramref name="address"/>, or null (dladdr).</summary>
    public static string? LibraryOf(IntPtr address)
    {
        if (!OperatingSystem.IsLinux()) return null;
        try
        {
            return DlAddr(address, out var info) == 0 || info.FileName == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(info.FileName);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    [StructLayout(LayoutKind.Sequential)]
    struct DlInfo
    {
        public IntPtr FileName;
        public IntPtr FileBase;
        public IntPtr SymbolName;
        public IntPtr SymbolAddress;
    }

    [LibraryImport("libc", EntryPoint = "dladdr")]
    private static partial int DlAddr(IntPtr address, out DlInfo info);
}
