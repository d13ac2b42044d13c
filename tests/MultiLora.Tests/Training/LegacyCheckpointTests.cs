using System.Text.Json;
using MultiLora.Llava.Training;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

/// <summary>
/// Checkpoints written before MultiLora had its own AdamW (TorchSharp's optimizer.bin, tests/fixtures/legacy-checkpoint,
/// made by commit bfabee6) still resume: the optimizer state is converted on load.
/// </summary>
[Collection(Cli.CliCollection.Name)]
public sealed class LegacyCheckpointTests : IDisposable
{
    const int Steps = 6, From = 2;
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    static string Fixture(params string[] parts) => Common.Fixture.Other(["legacy-checkpoint", .. parts]);

    [Fact]
    public void TorchSharpOptimizerBin_ResumesAndContinuesAsTheNewTrainerWould()
    {
        // the recipe the fixture was made with (old_run.json)
        var recipe = _work.Recipe("lora", Steps, "legacy", saveEvery: 2);
        CopyFixture(recipe.OutputDir);
        var resumedSteps = new StepRecorder();
        var resumed = Trainer.Run(recipe, resumedSteps, resume: true);

        var old = JsonDocument.Parse(File.ReadAllText(Fixture("old_run.json"))).RootElement.GetProperty("losses").EnumerateArray().Select(e => e.GetDouble()).ToList();
        Assert.Equal(From + 1, resumedSteps.Steps[0].Step);
        // step 3's loss comes from the checkpoint's weights, data position and RNG alone: the old trainer's, to the bit
        Assert.Equal(old[From], resumedSteps.Steps[0].Loss);
        Assert.True(File.Exists(Path.Combine(recipe.OutputDir, "checkpoint-4", MultiLora.Core.Optim.AdamWStateFile.FileName)));

        // the rest needs the moments and step counts converted to the right parameters: the new trainer run straight
        // through must give the same losses and adapter (steps 1-2 were image steps, where the old trainer's
        // in-place zero_grad and the new set-to-none agree; both AdamWs compute torch's arithmetic)
        var straightSteps = new StepRecorder();
        var straight = Trainer.Run(_work.Recipe("lora", Steps, "straight", saveEvery: 2), straightSteps);
        Assert.Equal(old.Take(From + 1), straightSteps.Steps.Take(From + 1).Select(s => s.Loss));
        Assert.Equal(straightSteps.Steps.Skip(From).Select(s => s.Loss), resumedSteps.Steps.Select(s => s.Loss));
        Assert.Equal(File.ReadAllBytes(ResumeContract.FinalWeights(straight)), File.ReadAllBytes(ResumeContract.FinalWeights(resumed)));
    }

    [Fact]
    public void TruncatedOptimizerBin_IsRefusedNamingTheFile()
    {
        var recipe = _work.Recipe("lora", Steps, "truncated", saveEvery: 2);
        string dir = CopyFixture(recipe.OutputDir);
        string bin = Path.Combine(dir, "optimizer.bin");
        var bytes = File.ReadAllBytes(bin);
        File.WriteAllBytes(bin, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Trainer.Run(recipe, new StepRecorder(), resume: true));
        Assert.Contains(bin, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    string CopyFixture(string outputDir)
    {
        string dir = Path.Combine(outputDir, $"checkpoint-{From}");
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(Fixture($"checkpoint-{From}")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        return dir;
    }
}
