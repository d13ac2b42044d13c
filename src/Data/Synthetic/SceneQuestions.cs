using MultiLora.Data.Mixing;

namespace MultiLora.Data.Synthetic;

/// <summary>One question about a scene with its one-word answer and its category.</summary>
public sealed record SceneQuestion(string Category, string Question, string Answer);

/// <summary>
/// Questions whose answers are read off the scene: colour, shape, count, position and yes/no existence.
/// The answer space is tiny (4 colours, 4 shapes, one/two, 4 positions, yes/no) so a small model can learn it.
/// </summary>
public static class SceneQuestions
{
    /// <summary>LLaVA-1.5's suffix for short-answer VQA (also used by its POPE evaluation).</summary>
    public const string ShortAnswerSuffix = "Answer the question using a single word or phrase.";

    static readonly string[] CaptionPrompts =
    [
        "Describe the image briefly.",
        "What is in this picture?",
        "Give a short caption for the image.",
    ];

    public static string CaptionPrompt(SeededRandom random) => random.Pick(CaptionPrompts);

    /// <summary>"A red circle." or "A red circle on the left and a blue square on the right."</summary>
    public static string Caption(Scene scene) => scene.Shapes.Count == 1
        ? $"A {scene.Shapes[0].Name}."
        : "A " + string.Join(" and a ", scene.Shapes.Select(s => $"{s.Name} {Where(s.Position!.Value)}")) + ".";

    /// <summary>"on the left", "at the top".</summary>
    static string Where(ShapePosition position) =>
        (position is ShapePosition.Left or ShapePosition.Right ? "on the " : "at the ") + SceneVocabulary.Word(position);

    public static SceneQuestion Colour(Scene scene, SeededRandom random)
    {
        var shape = random.Pick(scene.Shapes);
        return new("colour", $"What colour is the {SceneVocabulary.Word(shape.Kind)}?", SceneVocabulary.Word(shape.Colour));
    }

    public static SceneQuestion Shape(Scene scene, SeededRandom random)
    {
        var shape = random.Pick(scene.Shapes);
        return new("shape", $"What shape is the {SceneVocabulary.Word(shape.Colour)} object?", SceneVocabulary.Word(shape.Kind));
    }

    public static SceneQuestion Count(Scene scene) =>
        new("count", "How many shapes are in the image?", SceneVocabulary.CountWord(scene.Shapes.Count));

    /// <summary>Only for two-shape scenes (a single shape has no left/right).</summary>
    public static SceneQuestion Position(Scene scene, SeededRandom random)
    {
        var shape = random.Pick(scene.Shapes);
        return new("position", $"Where is the {shape.Name}?", SceneVocabulary.Word(shape.Position!.Value));
    }

    /// <summary>A yes/no existence question; <paramref name="present"/> picks which answer it has.</summary>
    public static SceneQuestion Existence(Scene scene, bool present, SeededRandom random)
    {
        var (kind, colour) = present ? Present(scene, random) : Absent(scene, random);
        return new("existence", $"Is there a {SceneVocabulary.Word(colour)} {SceneVocabulary.Word(kind)} in the image?", present ? "yes" : "no");
    }

    /// <summary>LLaVA-1.5's suffix for multiple-choice questions (also used by its MMBench evaluation).</summary>
    public const string OptionLetterSuffix = "Answer with the option's letter from the given choices directly.";

    /// <summary>
    /// A 4-option colour or shape question laid out as MMBench prompts are ("Q\nA. x\nB. y\n..."),
    /// answered with the letter. The options are listed in the vocabulary's fixed order (as an MMBench item
    /// lists its choices in its author's order) rather than shuffled: the quickstart's 4-layer decoder does not
    /// learn the shuffled letter lookup (finding the answer word among the options) within its few-minute
    /// budget, and always answered one letter. The answer word is uniform, so chance stays 25%.
    /// </summary>
    public static (SceneQuestion Question, string[] Options, char Letter) MultipleChoice(Scene scene, SeededRandom random)
    {
        var askShape = random.NextBool();
        var question = askShape ? Shape(scene, random) : Colour(scene, random);
        var options = (askShape ? SceneVocabulary.Shapes.Select(SceneVocabulary.Word) : SceneVocabulary.Colours.Select(SceneVocabulary.Word)).ToArray();
        return (question, options, (char)('A' + Array.IndexOf(options, question.Answer)));
    }

    public static string MultipleChoicePrompt(string question, string[] options) =>
        question + string.Concat(options.Select((o, i) => $"\n{(char)('A' + i)}. {o}")) + "\n" + OptionLetterSuffix;

    /// <summary>Any question type that applies to the scene, chosen uniformly.</summary>
    public static SceneQuestion Any(Scene scene, SeededRandom random)
    {
        var types = scene.Shapes.Count > 1 ? 5 : 4;
        return random.Next(types) switch
        {
            0 => Colour(scene, random),
            1 => Shape(scene, random),
            2 => Count(scene),
            3 => Existence(scene, random.NextBool(), random),
            _ => Position(scene, random),
        };
    }

    static (ShapeKind, ShapeColour) Present(Scene scene, SeededRandom random)
    {
        var shape = random.Pick(scene.Shapes);
        return (shape.Kind, shape.Colour);
    }

    static (ShapeKind, ShapeColour) Absent(Scene scene, SeededRandom random)
    {
        var options = (from k in SceneVocabulary.Shapes from c in SceneVocabulary.Colours where !scene.Contains(k, c) select (k, c)).ToList();
        return random.Pick(options);
    }
}
