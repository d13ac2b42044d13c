using Spectre.Console;

namespace MultiLora.Cli;

/// <summary>Turns expected failures (bad input, missing files) into one red line and exit code 1.</summary>
static class CliErrors
{
    public static int Run(Func<int> body)
    {
        try { return body(); }
        catch (Exception e) when (IsUserError(e))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]error:[/] {e.Message}");
            return 1;
        }
    }

    static bool IsUserError(Exception e) =>
        e is IOException or InvalidDataException or ArgumentException or FormatException or KeyNotFoundException
          or InvalidOperationException or UnauthorizedAccessException or NotSupportedException or OutOfMemoryException
          or Llava.Training.TrainingDivergedException
          or DllNotFoundException or EntryPointNotFoundException or TimeoutException or Distributed.Mpi.MpiException;
}
