using MultiLora.Data.Specs;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

public class RecipeSourcesTests
{
    [Fact]
    public void Data_text_mix_overrides_the_mixtures_ratio_and_zero_drops_the_text_datasets()
    {
        using var tmp = Fixture.Temp();
        SyntheticDatasetGenerator.Generate(tmp.Path, new SynthOptions { Resolution = 16, Train = 8, Eval = 2, Seed = 1 });
        string spec = tmp.File(SynthOutput.Stage2Spec);
        var own = SpecLoader.LoadMixture(spec);
        Assert.True(own.TextMix > 0 && own.TextDatasets.Any());

        var recipe = new TrainRecipe { Data = new DataSection { Mixture = spec } };
        Assert.Equal(own.TextMix, RecipeSources.Mixture(recipe).TextMix);
        recipe.Data.TextMix = 0.5;
        Assert.Equal(0.5, RecipeSources.Mixture(recipe).TextMix);
        recipe.Data.TextMix = 0;
        var off = RecipeSources.Mixture(recipe);
        Assert.Equal(0, off.TextMix);
        Assert.Empty(off.TextDatasets);
        Assert.Equal(own.ImageDatasets.Count(), off.Datasets.Count);
    }

    [Fact]
    public void Recipe_keys_for_the_scaling_axes_are_settable_and_checked()
    {
        var r = RecipeLoader.Load(null, ["model.builtin=tiny", "data.text_mix=0.2", "lora.rank=64", "data.resolution=48", "method=qlora"]);
        Assert.Equal("tiny", r.Model.Builtin);
        Assert.Equal(0.2, r.Data.TextMix);
        Assert.Equal(128, r.Lora.EffectiveAlpha);
        Assert.Contains("model.builtin 'huge' is not one of", Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["model.builtin=huge"])).Message);
        Assert.Contains("data.text_mix must be in [0, 1)", Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["data.text_mix=1.5"])).Message);
        Assert.Contains("give one model", Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(null, ["model.builtin=tiny", "model.path=x"])).Message);
    }
}
