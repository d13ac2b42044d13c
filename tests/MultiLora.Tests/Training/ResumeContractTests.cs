using MultiLora.Data.Synthetic;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Tests.Training;

/// <summary>
/// README's resume contract on the tiny model: resuming from a checkpoint gives, step for step, the losses and the
/// final weights of the uninterrupted run, bit for bit, for every method and with text mixing, gradient accumulation
/// and gradient checkpointing. Text mixing matters most: a text-only batch gives the projector no gradient, and a
/// resumed process must skip it exactly as the running one does.
/// </summary>
[Collection(Cli.CliCollection.Name)]
public sealed class ResumeContractTests : IDisposable
{
    readonly TinyTrainingWorkspace _work = new();

    public void Dispose() => _work.Dispose();

    [Theory]
    [InlineData("lora")]
    [InlineData("full")]
    public void ResumedFromEachOfEightCheckpoints_WithTextMixing_EndsByteIdentical(string method)
    {
        const int steps = 9;   // a checkpoint after every step: 8 to resume from
        string straight = ResumeContract.AssertResumesExactly(name => _work.Recipe(method, steps, name, saveEvery: 1), method, Enumerable.Range(1, steps - 1));
        // the data really puts a text-only step right after some of those checkpoints
        Assert.NotEmpty(ResumeContract.FollowedByTextOnlyStep(straight, steps - 1));
    }

    [Theory]
    [InlineData("qlora")]
    [InlineData("stage1")]                  // projector only: the text-only step 6 reaches no trained parameter at all
    [InlineData("stage1-captions")]         // no text mixing
    [InlineData("lora-captions")]           // no text mixing
    [InlineData("lora-grad-accum")]         // 2 micro-batches of 2 per step, of either modality
    [InlineData("lora-checkpointing")]      // gradient checkpointing, LoRA dropout on (the RNG is part of the state)
    public void ResumedFromCheckpoints_EndsByteIdentical(string variant)
    {
        const int steps = 7;
        string straight = ResumeContract.AssertResumesExactly(name => Recipe(variant, steps, name), variant, [3, 5]);
        // with these data and batches of 4, step 6 is text-only: checkpoint 5 is resumed into it
        if (!variant.EndsWith("-captions", StringComparison.Ordinal) && variant != "lora-grad-accum")
            Assert.Contains(5, ResumeContract.FollowedByTextOnlyStep(straight, steps - 1));
    }

    TrainRecipe Recipe(string variant, int steps, string name)
    {
        var r = _work.Recipe(variant.Split('-')[0] == "stage1" ? "lora" : variant.Split('-')[0], steps, name, saveEvery: 1);
        if (variant.StartsWith("stage1", StringComparison.Ordinal)) r.Stage = 1;
        if (variant.EndsWith("-captions", StringComparison.Ordinal)) r.Data.Mixture = Path.Combine(_work.Data, SynthOutput.Stage1Spec);
        if (variant == "lora-grad-accum") { r.GradAccum = 2; r.BatchSize = 2; }
        if (variant == "lora-checkpointing") { r.GradientCheckpointing = true; r.Lora.Dropout = 0.1; }
        return r;
    }
}
