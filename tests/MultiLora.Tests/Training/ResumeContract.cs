using MultiLora.Core.Optim;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Tests.Training;

/// <summary>
/// The resume contract, checked: a run is made straight through, then each chosen checkpoint of it is copied into a
/// fresh output folder and resumed; every resumed run must log the straight run's losses from that step on, to the
/// last bit, and end with a byte-identical final weights file.
/// </summary>
static class ResumeContract
{
    /// <summary>The file holding the final trained weights: the adapter for LoRA/QLoRA, the model otherwise.</summary>
    public static string FinalWeights(TrainResult result) =>
        File.Exists(Path.Combine(result.FinalDir, "adapter_model.safetensors"))
            ? Path.Combine(result.FinalDir, "adapter_model.safetensors")
            : Path.Combine(result.FinalDir, SafetensorsCheckpoint.SingleFile);

    /// <summary>
    /// Runs <paramref name="recipe"/>(<paramref name="name"/>) straight, then resumes a copy of each checkpoint in
    /// <paramref name="fromSteps"/> (each in its own output folder) and asserts the same losses from there on and a
    /// byte-identical final weights file. Returns the straight run's output folder.
    /// </summary>
    public static string AssertResumesExactly(Func<string, TrainRecipe> recipe, string name, IEnumerable<int> fromSteps)
    {
        var straightRecipe = recipe(name);
        var straightSteps = new StepRecorder();
        var straight = Trainer.Run(straightRecipe, straightSteps);
        var losses = straightSteps.Steps.Select(s => s.Loss).ToList();
        byte[] expected = File.ReadAllBytes(FinalWeights(straight));
        foreach (int k in fromSteps)
        {
            var resumedRecipe = recipe($"{name}-from-{k}");
            string checkpoint = CheckpointStore.Prefix + k;
            CopyDirectory(Path.Combine(straightRecipe.OutputDir, checkpoint), Path.Combine(resumedRecipe.OutputDir, checkpoint));
            var steps = new StepRecorder();
            var resumed = Trainer.Run(resumedRecipe, steps, resume: true);
            Assert.Equal(k + 1, steps.Steps[0].Step);
            Assert.Equal(losses.Skip(k), steps.Steps.Select(s => s.Loss));   // exact doubles: the same arithmetic, step for step
            Assert.True(expected.AsSpan().SequenceEqual(File.ReadAllBytes(FinalWeights(resumed))),
                $"{name} resumed from checkpoint {k}: the final weights differ from the uninterrupted run's");
        }
        return straightRecipe.OutputDir;
    }

    /// <summary>The optimizer step count of <paramref name="parameter"/> in checkpoint <paramref name="step"/> (0 before its first update).</summary>
    public static long StepCount(string outputDir, int step, string parameter)
    {
        using var file = SafetensorsFile.Open(Path.Combine(outputDir, CheckpointStore.Prefix + step, AdamWStateFile.FileName));
        using var t = file.Load(parameter + ".step");
        return t.item<long>();
    }

    /// <summary>
    /// Checkpoints k whose next step was text-only: the projector, which only image batches reach, kept its AdamW
    /// step count from k to k+1 (and, PyTorch's rule, its weights: checked too).
    /// </summary>
    public static List<int> FollowedByTextOnlyStep(string outputDir, int lastCheckpoint)
    {
        string projectorParameter;
        using (var names = SafetensorsFile.Open(Path.Combine(outputDir, CheckpointStore.Prefix + 1, "trainable.safetensors")))
            projectorParameter = names.Tensors.Keys.Where(k => k.Contains(TrainingSetup.ProjectorModule, StringComparison.Ordinal)).Order(StringComparer.Ordinal).First();
        var found = new List<int>();
        for (int k = 1; k < lastCheckpoint; k++)
        {
            if (StepCount(outputDir, k, projectorParameter) != StepCount(outputDir, k + 1, projectorParameter)) continue;
            using var before = SafetensorsFile.Open(Path.Combine(outputDir, CheckpointStore.Prefix + k, "trainable.safetensors"));
            using var after = SafetensorsFile.Open(Path.Combine(outputDir, CheckpointStore.Prefix + (k + 1), "trainable.safetensors"));
            using var a = before.Load(projectorParameter);
            using var b = after.Load(projectorParameter);
            Assert.True(a.eq(b).all().item<bool>(), $"step {k + 1} gave the projector no gradient, yet its weights moved");
            found.Add(k);
        }
        return found;
    }

    static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
        foreach (var d in Directory.GetDirectories(from)) CopyDirectory(d, Path.Combine(to, Path.GetFileName(d)));
    }
}
