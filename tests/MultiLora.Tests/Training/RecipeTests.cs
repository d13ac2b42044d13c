using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Common;

namespace MultiLora.Tests.Training;

public sealed class RecipeTests
{
    static string RepoFile(params string[] parts)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MultiLora.sln"))) return Path.Combine([dir.FullName, .. parts]);
        throw new DirectoryNotFoundException("repository root not found");
    }

    [Fact]
    public void ShippedRecipes_AllParseAndValidate()
    {
        var recipes = Directory.GetFiles(RepoFile("recipes"), "*.yaml");
        Assert.NotEmpty(recipes);
        foreach (var path in recipes)
        {
            var r = RecipeLoader.Load(path, []);
            Assert.True(Path.IsPathRooted(r.OutputDir), path);
        }
        var qlora = RecipeLoader.Load(RepoFile("recipes", "scaling-qlora.yaml"), []);
        Assert.Equal(TrainMethod.Qlora, qlora.EffectiveMethod);
        Assert.Equal(128, qlora.Lora.EffectiveAlpha);   // alpha = 2 x rank when not given
    }

    [Fact]
    public void SetOverrides_ReachNestedFieldsAndLists()
    {
        var r = RecipeLoader.Load(RepoFile("recipes", "llava15-stage2-lora.yaml"),
            ["lora.rank=64", "method=qlora", "data.resolution=224", "lora.targets=[q_proj, v_proj]", "optim.lr=1e-4"]);
        Assert.Equal(64, r.Lora.Rank);
        Assert.Equal(TrainMethod.Qlora, r.EffectiveMethod);
        Assert.Equal(224, r.Data.Resolution);
        Assert.Equal(["q_proj", "v_proj"], r.Lora.Targets);
        Assert.Equal(1e-4, r.Optim.Lr);
        Assert.Equal(256, r.Lora.EffectiveAlpha);   // the recipe's explicit alpha stays
    }

    [Fact]
    public void UnknownKeyOrBadValue_IsNamed()
    {
        using var tmp = Fixture.Temp();
        File.WriteAllText(tmp.File("r.yaml"), "stage: 2\nlora:\n  rnak: 8\n");
        var e = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("r.yaml"), []));
        Assert.Contains("'rnak'", e.Message);
        Assert.Contains(tmp.File("r.yaml"), e.Message);
        var e2 = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("r.yaml"), ["lora.rnak=1", "method=dora"]));
        Assert.Contains("rnak", e2.Message);
        File.WriteAllText(tmp.File("m.yaml"), "method: dora\n");
        var e3 = Assert.Throws<InvalidDataException>(() => RecipeLoader.Load(tmp.File("m.yaml"), []));
        Assert.Contains("'dora'", e3.Message);
    }
}
