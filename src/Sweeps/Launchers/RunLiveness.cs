using System.Diagnostics;
using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Launchers;

/// <summary>Whether a row that says running still has a process behind it (on this host), for runs started locally.</summary>
public static class RunLiveness
{
    public static bool LocalProcessAlive(RunRow row)
    {
        if (row.Pid is not { } pid || row.Host != Environment.MachineName) return false;
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; }
        catch (InvalidOperationException) { return false; }
    }
}
