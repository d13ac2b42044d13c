namespace MultiLora.Sweeps.Execution;

/// <summary>The machine in one line for the report's header: CPU model, cores, memory (from /proc on Linux).</summary>
public static class HardwareInfo
{
    public static string Describe()
    {
        string cpu = "cpu";
        long memKb = 0;
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
            var mem = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            if (mem is not null) memKb = long.Parse(mem.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return $"{cpu}, {Environment.ProcessorCount} cores, {memKb / 1048576.0:0} GiB RAM ({Environment.MachineName})";
    }
}
