using System.Runtime.InteropServices;

namespace MultiLora.Sweeps.Execution;

/// <summary>
/// A run started by a local `sweep run` ends when that sweep process is gone (killed with SIGKILL, say), as it
/// would with it in one process: it is then an interrupted run that the next `sweep run` resumes, rather than an
/// orphan still training and writing the registry. The parent's pid travels in <see cref="Variable"/>.
/// </summary>
public static partial class ParentWatch
{
    public const string Variable = "MULTILORA_SWEEP_PARENT";
    const int SigKill = 9;

    public static void StartIfAsked()
    {
        if (!int.TryParse(Environment.GetEnvironmentVariable(Variable), out int parent) || !OperatingSystem.IsLinux()) return;
        var thread = new Thread(() =>
        {
            while (true)
            {
                // re-parented (to init or a subreaper) once the sweep process died
                // ends as abruptly as the parent did: no half-run cleanup that could look like a finished run
                if (getppid() != parent) kill(Environment.ProcessId, SigKill);
                Thread.Sleep(250);
            }
        }) { IsBackground = true, Name = "sweep-parent-watch" };
        thread.Start();
    }

    [LibraryImport("libc")]
    private static partial int getppid();

    [LibraryImport("libc")]
    private static partial int kill(int pid, int signal);
}
