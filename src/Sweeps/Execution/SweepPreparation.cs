using MultiLora.Data.Synthetic;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Quickstart;
using MultiLora.Sweeps.Grid;

namespace MultiLora.Sweeps.Execution;

/// <summary>What a grid needs before its first run: the built-in synthetic data for toy grids (once; written atomically).</summary>
public static class SweepPreparation
{
    public static void Prepare(GridSpec grid, Action<string> say)
    {
        if (grid.SyntheticData is not { } s || Directory.Exists(s.Out)) return;
        say($"preparing synthetic data in {s.Out} ({s.Train} images at {s.Resolution} px)");
        AtomicDirectory.Write(s.Out, temp => QuickstartRunner.PrepareData(temp,
            new SynthOptions { Resolution = s.Resolution, Train = s.Train, Eval = s.Eval, Seed = s.Seed }));
    }
}
