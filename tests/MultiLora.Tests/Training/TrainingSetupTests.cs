using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;
using MultiLora.Tests.Model;
using static TorchSharp.torch;

namespace MultiLora.Tests.Training;

/// <summary>What a recipe's method leaves trainable, on the fixture model.</summary>
public sealed class TrainingSetupTests
{
    [Fact]
    public void FullTraining_OfATiedModel_OptimisesTheSharedMatrixOnce()
    {
        using var tmp = Fixture.Temp();
        using var scope = NewDisposeScope();
        string dir = FixtureVariants.Write(tmp.Path, Layout.Current,
            editConfig: c => c["text_config"]!["tie_word_embeddings"] = true, drop: k => k == "lm_head.weight");
        using var model = LlavaLoader.Load(dir, new LoadOptions());
        var trainable = TrainingSetup.Apply(model, new TrainRecipe { Method = "full" });
        var names = trainable.All.Select(p => p.Name).ToList();
        Assert.Contains("model.language_model.embed_tokens.weight", names);
        Assert.DoesNotContain("lm_head.weight", names);
        Assert.Equal(names.Count, names.Distinct().Count());
    }
}
