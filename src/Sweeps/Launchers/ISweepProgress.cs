using MultiLora.Sweeps.Registry;

namespace MultiLora.Sweeps.Launchers;

/// <summary>What a launcher tells the user while a sweep runs (the CLI draws it with Spectre.Console).</summary>
public interface ISweepProgress
{
    void Message(string text);
    void Started(RunRow run, int index, int count);
    /// <summary>A running run's latest state, read back from the registry about once a second.</summary>
    void Progress(RunRow run);
    void Finished(RunRow run);
}
