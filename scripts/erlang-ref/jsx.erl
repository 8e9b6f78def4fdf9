%% Minimal stand-in for the `jsx` JSON library, enough for the JER code that
%% OTP's asn1 compiler generates (`erlc +jer`), which calls jsx:encode/1 and
%% jsx:decode/2 (with [return_maps]) but does not ship jsx itself.
%%
%% Term <-> JSON mapping (the subset the generated JER code produces/consumes):
%%   map (binary or atom keys)        <-> object
%%   [{Key, Value} | _] (proplist)     -> object;  [{}] -> {}
%%   other list                       <-> array
%%   binary                           <-> string (bytes >= 0x80 are copied
%%                                        when the binary is valid UTF-8,
%%                                        else escaped as \u00XX)
%%   true | false | null              <-> literal
%%   other atom                        -> string (ENUMERATED identifiers)
%%   integer / float                  <-> number
%%
%% Output is compact (no whitespace, never a newline), which the line
%% protocol of rsu_ref relies on.
-module(jsx).
-export([encode/1, encode/2, decode/1, decode/2, raw/1]).

%% raw(JsonText): a binary that encode/1 copies verbatim (used by rsu_ref to
%% splice the JER of open-type values, which OTP's JER code cannot produce).
-define(RAW_TAG, "\0rsu-raw-json\0").
raw(Json) -> iolist_to_binary([?RAW_TAG, Json]).

%%% ---------------------------------------------------------------- encode

encode(Term) -> iolist_to_binary(enc(Term)).
encode(Term, _Opts) -> encode(Term).

enc(true) -> <<"true">>;
enc(false) -> <<"false">>;
enc(null) -> <<"null">>;
enc(A) when is_atom(A) -> enc_string(atom_to_binary(A, utf8));
enc(I) when is_integer(I) -> integer_to_binary(I);
enc(F) when is_float(F) -> float_to_binary(F, [short]);
enc(<<?RAW_TAG, Json/binary>>) -> Json;
enc(B) when is_binary(B) -> enc_string(B);
enc(M) when is_map(M) ->
    enc_object(lists:keysort(1, [{key(K), V} || {K, V} <- maps:to_list(M)]));
enc([{}]) -> <<"{}">>;
enc([{_, _} | _] = L) -> enc_object([{key(K), V} || {K, V} <- L]);
enc(L) when is_list(L) ->
    [$[, join([enc(E) || E <- L]), $]];
enc(Other) ->
    erlang:error({jsx_cannot_encode, Other}).

key(K) when is_binary(K) -> K;
key(K) when is_atom(K) -> atom_to_binary(K, utf8);
key(K) when is_integer(K) -> integer_to_binary(K);
key(K) when is_list(K) -> unicode:characters_to_binary(K).

enc_object(KVs) ->
    [${, join([[enc_string(K), $:, enc(V)] || {K, V} <- KVs]), $}].

join([]) -> [];
join([H | T]) -> [H | [[$, | E] || E <- T]].

enc_string(B) ->
    Utf8 = case unicode:characters_to_binary(B, utf8, utf8) of
               Bin when is_binary(Bin) -> true;
               _ -> false
           end,
    [$", esc(B, Utf8), $"].

esc(<<>>, _) -> [];
esc(<<$", R/binary>>, U) -> [<<"\\\"">> | esc(R, U)];
esc(<<$\\, R/binary>>, U) -> [<<"\\\\">> | esc(R, U)];
esc(<<$\n, R/binary>>, U) -> [<<"\\n">> | esc(R, U)];
esc(<<$\r, R/binary>>, U) -> [<<"\\r">> | esc(R, U)];
esc(<<$\t, R/binary>>, U) -> [<<"\\t">> | esc(R, U)];
esc(<<C, R/binary>>, U) when C < 16#20; C >= 16#80, not U ->
    [io_lib:format("\\u~4.16.0B", [C]) | esc(R, U)];
esc(<<C, R/binary>>, U) -> [C | esc(R, U)].

%%% ---------------------------------------------------------------- decode

decode(Bin) -> decode(Bin, [return_maps]).
decode(Bin, _Opts) when is_binary(Bin) ->
    {V, Rest} = value(ws(Bin)),
    case ws(Rest) of
        <<>> -> V;
        _ -> erlang:error({jsx_trailing_garbage, Rest})
    end;
decode(List, Opts) when is_list(List) ->
    decode(unicode:characters_to_binary(List), Opts).

ws(<<C, R/binary>>) when C =:= $\s; C =:= $\t; C =:= $\n; C =:= $\r -> ws(R);
ws(B) -> B.

value(<<${, R/binary>>) -> object(ws(R), #{});
value(<<$[, R/binary>>) -> array(ws(R), []);
value(<<$", R/binary>>) -> string(R, []);
value(<<"true", R/binary>>) -> {true, R};
value(<<"false", R/binary>>) -> {false, R};
value(<<"null", R/binary>>) -> {null, R};
value(B) -> number(B).

object(<<$}, R/binary>>, Acc) -> {Acc, R};
object(<<$", R/binary>>, Acc) ->
    {K, R1} = string(R, []),
    <<$:, R2/binary>> = ws(R1),
    {V, R3} = value(ws(R2)),
    Acc1 = Acc#{K => V},
    case ws(R3) of
        <<$,, R4/binary>> -> object(ws(R4), Acc1);
        <<$}, R4/binary>> -> {Acc1, R4}
    end.

array(<<$], R/binary>>, []) -> {[], R};
array(B, Acc) ->
    {V, R1} = value(B),
    case ws(R1) of
        <<$,, R2/binary>> -> array(ws(R2), [V | Acc]);
        <<$], R2/binary>> -> {lists:reverse([V | Acc]), R2}
    end.

string(<<$", R/binary>>, Acc) -> {iolist_to_binary(lists:reverse(Acc)), R};
string(<<$\\, $u, H:4/binary, R/binary>>, Acc) ->
    C = binary_to_integer(H, 16),
    case {C, R} of
        {Hi, <<$\\, $u, H2:4/binary, R2/binary>>} when Hi >= 16#D800, Hi =< 16#DBFF ->
            Lo = binary_to_integer(H2, 16),
            Cp = 16#10000 + ((Hi - 16#D800) bsl 10) + (Lo - 16#DC00),
            string(R2, [<<Cp/utf8>> | Acc]);
        _ ->
            string(R, [<<C/utf8>> | Acc])
    end;
string(<<$\\, E, R/binary>>, Acc) ->
    C = case E of
            $n -> $\n; $r -> $\r; $t -> $\t; $b -> $\b; $f -> $\f;
            $/ -> $/; $\\ -> $\\; $" -> $"
        end,
    string(R, [C | Acc]);
string(<<C, R/binary>>, Acc) -> string(R, [C | Acc]).

number(B) ->
    {Tok, R} = numtok(B, []),
    V = case lists:any(fun(C) -> lists:member(C, ".eE") end, Tok) of
            true ->
                T1 = case lists:member($., Tok) of
                         true -> Tok;
                         false ->
                             %% "1e5" -> "1.0e5" for list_to_float
                             {M, E} = lists:splitwith(fun(C) -> C =/= $e andalso C =/= $E end, Tok),
                             M ++ ".0" ++ E
                     end,
                list_to_float(T1);
            false -> list_to_integer(Tok)
        end,
    {V, R}.

numtok(<<C, R/binary>>, Acc)
  when (C >= $0 andalso C =< $9); C =:= $-; C =:= $+; C =:= $.; C =:= $e; C =:= $E ->
    numtok(R, [C | Acc]);
numtok(R, Acc) when Acc =/= [] -> {lists:reverse(Acc), R}.
