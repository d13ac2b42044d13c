namespace MultiLora.Core.Diagnostics;

/// <summary>
/// Process memory as the kernel counts it (/proc/self/status): resident set now (VmRSS) and its peak
/// (VmHWM). TorchSharp tensors live in native memory, which the GC's counters do not see.
/// </summary>
public static class MemoryProbe
{
    // StartWindow restarts the kernel's VmHWM; the process's peak before that is kept here
    static long _peakBeforeWindow;

    public static long ResidentBytes() => Read("VmRSS:");

    /// <summary>The process's peak resident size since it started.</summary>
    public static long PeakResidentBytes() => Math.Max(_peakBeforeWindow, Read("VmHWM:"));

    /// <summary>
    /// Starts a measuring window: VmHWM restarts from the current resident size (Linux: "5" written to
    /// /proc/self/clear_refs), so <see cref="WindowPeakBytes"/> is the peak since this call.
    /// </summary>
    public static void StartWindow()
    {
        _peakBeforeWindow = PeakResidentBytes();
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }   // the window then spans the whole process
    }

    /// <summary>The peak resident size since the last <see cref="StartWindow"/> (or the process's start).</summary>
    public static long WindowPeakBytes() => Read("VmHWM:");

    static long Read(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return Environment.WorkingSet;
    }

    public static string Format(long bytes) => $"{bytes / (1024.0 * 1024.0):0} MiB";
}
