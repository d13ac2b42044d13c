using MultiLora.Data.Specs;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Sessions;
using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Llava.Training;

/// <summary>
/// What a recipe trains on, with the recipe's overrides applied: the model (a checkpoint, a composition, or a
/// fresh built-in size) and the data mixture (data.text_mix over the mixture's own ratio).
/// </summary>
public static class RecipeSources
{
    public const string BuiltInFolderPrefix = "builtin-";

    /// <summary>The model to load; a model.builtin size is written (seeded, once) to OUTPUT/builtin-NAME first.</summary>
    public static ModelSource Model(TrainRecipe r)
    {
        if (r.Model.Builtin is not { } name) return new ModelSource(r.Model.Path, r.Model.Vision, r.Model.Language, r.Model.Projector);
        string dir = Path.Combine(r.OutputDir, BuiltInFolderPrefix + name);
        // written atomically by LlavaSaver: config.json present means a complete folder (a resumed run reuses it)
        if (!File.Exists(Path.Combine(dir, "config.json"))) BuiltInModel.Write(dir, BuiltInSizes.Get(name), r.Seed);
        return new ModelSource(dir);
    }

    /// <summary>The recipe's mixture; data.text_mix replaces its ratio, and 0 drops its text-only datasets (mixing off).</summary>
    public static MixtureSpec Mixture(TrainRecipe r)
    {
        string path = r.Data.Mixture ?? throw new InvalidDataException("recipe: data.mixture (a dataset or mixture spec) is required");
        var spec = SpecLoader.LoadMixture(path);
        if (r.Data.TextMix is not { } mix) return spec;
        if (mix > 0 && !spec.TextDatasets.Any())
            throw new InvalidDataException($"{path}: data.text_mix is {mix} but the mixture has no text-only dataset (kind: text)");
        return mix > 0 ? spec with { TextMix = mix } : spec with { Datasets = spec.ImageDatasets.ToList(), TextMix = 0 };
    }
}
