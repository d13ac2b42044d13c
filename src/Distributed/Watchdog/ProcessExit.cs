using System.Runtime.InteropServices;

namespace MultiLora.Distributed.Watchdog;

/// <summary>
/// Ends the process at once from any thread. The main thread may be blocked inside a native collective that will
/// never return, so Environment.Exit (which runs finalizers and may wait on runtime locks) is not safe here;
/// _exit is, after the message is flushed.
/// </summary>
static class ProcessExit
{
    public const int FailureCode = 1;

    [DllImport("libc", EntryPoint = "_exit")]
    static extern void Exit(int code);

    public static void Fatal(string message)
    {
        try
        {
            Console.Out.Flush();
            Console.Error.WriteLine($"error: {message}");
            Console.Error.Flush();
        }
        finally { Exit(FailureCode); }
    }
}
