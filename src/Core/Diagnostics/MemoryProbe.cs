namespace MultiLora.Core.Diagnostics;

/// <summary>
/// Process memory as the kernel counts it (/proc/self/status): resident set now (VmRSS) and its peak
/// (VmHWM). TorchSharp tensors live in native memory, which the GC's counters do not see.
/// </summary>
public static class MemoryProbe
{
    public static long ResidentBytes() => Read("VmRSS:");
    public static long PeakResidentBytes() => Read("VmHWM:");

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
