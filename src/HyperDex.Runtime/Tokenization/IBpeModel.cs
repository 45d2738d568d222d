namespace HyperDex.Runtime.Tokenization;

/// <summary>The model step of a recipe: encodes one normalized segment (no added tokens in it) and appends the ids.</summary>
internal interface IBpeModel
{
    void Encode(string text, List<int> ids);
}
