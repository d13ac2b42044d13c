using MultiLora.Data.Mixing;

namespace MultiLora.Data.Synthetic;

/// <summary>Text-only instructions with one-word answers (small sums, colour mixing, word reversal) for mixing into stage 2.</summary>
public static class TextOnlyInstructions
{
    static readonly (string A, string B, string Mix)[] ColourMixes =
    [
        ("blue", "yellow", "green"), ("red", "yellow", "orange"), ("red", "blue", "purple"), ("red", "white", "pink"), ("black", "white", "grey"),
    ];

    static readonly string[] Words = ["cat", "dog", "sun", "red", "box", "map", "cup", "pen"];

    public static (string Question, string Answer) Sample(SeededRandom random)
    {
        switch (random.Next(3))
        {
            case 0:
                var a = random.Next(1, 10);
                var b = random.Next(1, 10);
                return ($"What is {a} plus {b}?", (a + b).ToString(System.Globalization.CultureInfo.InvariantCulture));
            case 1:
                var mix = random.Pick(ColourMixes);
                return ($"What colour do you get by mixing {mix.A} and {mix.B} paint?", mix.Mix);
            default:
                var word = random.Pick(Words);
                return ($"Spell the word '{word}' backwards.", new string(word.Reverse().ToArray()));
        }
    }
}
