%% rsu_ref: independent reference codec server around Erlang/OTP asn1.
%%
%% Started by test/support/erlang.ts as ONE long-lived process per module set:
%%   erl -noshell -pa EBIN -pa SHIMDIR -rsu_ebin EBIN -s rsu_ref main
%% where EBIN holds the modules compiled with `erlc -buper +maps +jer` and
%% SHIMDIR holds this module and the `jsx` shim.
%%
%% Line protocol (stdin -> stdout, one request per line, tokens separated by
%% single spaces). Every reply ends with exactly one line that starts with
%% "OK " or "ERR "; `random` first prints zero or more "V <hex> <json>" lines.
%% Nothing else is ever written to stdout (errors go into ERR lines).
%%
%%   ping                         -> OK pong
%%   types                        -> OK {"Module":["Type",...],...}
%%   random M T N SEED [MUT [AVOID]]
%%                                -> N x "V <UPER hex> <JER json>", then
%%                                   OK {"n":..,"attempts":..,"dropped":{..},
%%                                       "removedOpenTypeFields":..,
%%                                       "removedAvoidedFields":..,"ms":..}
%%                                   MUT: 1 (default) or 0, see mutate/3.
%%                                   AVOID: "-" or Type.component,... left
%%                                   out of the values (see random_opts/1)
%%   randomframe FM FT IDF VALF ID M T N SEED [MUT [AVOID]]
%%                                -> like random, each value V of M:T wrapped
%%                                   as FM:FT #{IDF => ID, VALF => V} (J2735
%%                                   MessageFrame, whose value is an open type)
%%   opentypes ID:M:T ...         -> OK <count>. Candidate types for open-type
%%                                   values by the value of their id field
%%                                   (J2735: DSRCmsgID, RegionId, PartII-Id),
%%                                   used to print decoded open types as JER
%%   decode M T HEX               -> OK {"jer":<json>,"restBits":N} | ERR ...
%%   encode M T JSON              -> OK <UPER hex>   (JER in, via OTP's
%%                                   jer_decode; OTP cannot read open types)
%%   bench M T HEX ITER           -> OK {"iterations":..,"decodePerSec":..,...}
%%   quit                         -> OK bye, then the VM halts
%%
%% Random values: asn1ct_value:from_type/2 (what asn1ct:value/3 uses, called in
%% this process so that rand:seed/2 makes draws reproducible; asn1ct:value
%% itself runs in a fresh process with an unseeded generator). Each draw is
%%  1. stripped of open-type values (asn1ct_value cannot fill them, and the
%%     generated JER code cannot print them): an OPTIONAL/DEFAULT component
%%     whose value holds an open type is removed; a SEQUENCE OF element that
%%     holds one is removed; if that is not possible the draw is dropped;
%%  2. optionally mutated (asn1ct_value always fills every OPTIONAL component,
%%     sets every BOOLEAN to true, a single named bit, and fills strings from
%%     fixed patterns): OPTIONAL components are left out with p=1/4, BOOLEANs,
%%     OCTET/BIT STRING contents, named-bit sets and character strings are
%%     randomised (sizes kept, except that a character string gets a random
%%     length 1..300 with p=1/8). If the mutated value does not encode, the
%%     draw is retried without string mutation, then unmutated;
%%  3. encoded (UPER), decoded again, re-encoded (must give the same bytes),
%%     and the DECODED value is printed as JER, so the JSON is what Erlang's
%%     decoder yields for those bytes.
-module(rsu_ref).
-export([main/0]).

-define(MAX_ATTEMPTS_FACTOR, 20).

main() ->
    process_flag(trap_exit, true),
    Ebin = case init:get_argument(rsu_ebin) of
               {ok, [[D | _] | _]} -> D;
               _ -> "."
           end,
    put(rsu_ebin, Ebin),
    ok = io:setopts(standard_io, [binary, {encoding, latin1}]),
    ok = asn1_db:dbstart([Ebin]),
    out([<<"OK ready">>]),
    loop().

loop() ->
    flush_exits(),
    case io:get_line(standard_io, "") of
        eof -> halt(0);
        {error, _} -> halt(1);
        Line ->
            Cmd = strip_nl(Line),
            try
                handle(binary:split(Cmd, <<" ">>, [global]), Cmd)
            catch
                throw:quit -> out([<<"OK bye">>]), halt(0);
                Class:Reason:Stack ->
                    restart_db_if_dead(),
                    out([<<"ERR ">>, fmt_err({Class, Reason, top(Stack)})])
            end,
            loop()
    end.

flush_exits() ->
    receive {'EXIT', _, _} -> restart_db_if_dead(), flush_exits()
    after 0 -> ok
    end.

restart_db_if_dead() ->
    case get(asn1_db) of
        Pid when is_pid(Pid) ->
            case is_process_alive(Pid) of
                true -> ok;
                false -> erase(asn1_db), asn1_db:dbstart([get(rsu_ebin)])
            end;
        _ -> asn1_db:dbstart([get(rsu_ebin)])
    end.

top(Stack) -> lists:sublist(Stack, 3).

strip_nl(B) ->
    S = byte_size(B),
    case B of
        <<R:(S - 2)/binary, "\r\n">> -> R;
        <<R:(S - 1)/binary, "\n">> -> R;
        _ -> B
    end.

out(IoList) -> io:put_chars(standard_io, [IoList, $\n]).

fmt_err(Term) ->
    S = iolist_to_binary(io_lib:format("~tP", [Term, 25])),
    S1 = re:replace(S, "[\\r\\n]\\s*", " ", [global, {return, binary}]),
    case byte_size(S1) > 3000 of
        true -> <<(binary:part(S1, 0, 3000))/binary, "...">>;
        false -> S1
    end.

%%% ------------------------------------------------------------- commands

handle([<<"ping">>], _) -> out([<<"OK pong">>]);
handle([<<"quit">>], _) -> throw(quit);
handle([<<"types">>], _) -> out([<<"OK ">>, types_json()]);
handle([<<"random">>, M, T, N, Seed | Rest], _) ->
    {Mut, Avoid} = random_opts(Rest),
    put(avoid, Avoid),
    random(mod(M), typ(T), binary_to_integer(N), binary_to_integer(Seed), Mut);
handle([<<"randomframe">>, FM, FT, IdF, ValF, Id, M, T, N, Seed | Rest], _) ->
    {Mut, Avoid} = random_opts(Rest),
    put(avoid, Avoid),
    random(mod(M), typ(T), binary_to_integer(N), binary_to_integer(Seed), Mut,
           {mod(FM), typ(FT), binary_to_atom(IdF, utf8), binary_to_atom(ValF, utf8),
            binary_to_integer(Id)});
handle([<<"opentypes">> | Entries], _) ->
    Table = lists:foldl(
              fun(E, Acc) ->
                      [Id, M, T] = binary:split(E, <<":">>, [global]),
                      maps:update_with(binary_to_integer(Id),
                                       fun(L) -> L ++ [{mod(M), typ(T)}] end,
                                       [{mod(M), typ(T)}], Acc)
              end, #{}, [E || E <- Entries, E =/= <<>>]),
    put(opentypes, Table),
    out([<<"OK ">>, integer_to_binary(map_size(Table))]);
handle([<<"decode">>, M, T, Hex], _) ->
    decode(mod(M), typ(T), Hex);
handle([<<"encode">>, M, T | _], Line) ->
    %% the JSON may contain spaces: take everything after the third space
    Prefix = byte_size(<<"encode ">>) + byte_size(M) + 1 + byte_size(T) + 1,
    Json = binary:part(Line, Prefix, byte_size(Line) - Prefix),
    encode(mod(M), typ(T), Json);
handle([<<"bench">>, M, T, Hex, Iter], _) ->
    bench(mod(M), typ(T), Hex, binary_to_integer(Iter));
handle(Other, _) ->
    erlang:error({unknown_command, Other}).

%% [MUT [AVOID]]: MUT 1|0; AVOID "-" or a comma list of Type.component
%% (SEQUENCE type name and component name) to leave out of drawn values,
%% like open types: for fields where Erlang is known to be wrong.
random_opts(Rest) ->
    Mut = case Rest of [<<"0">> | _] -> false; _ -> true end,
    Avoid = case Rest of
                [_, A | _] when A =/= <<"-">> ->
                    [list_to_tuple([binary_to_atom(X, utf8) || X <- binary:split(E, <<".">>)])
                     || E <- binary:split(A, <<",">>, [global]), E =/= <<>>];
                _ -> []
            end,
    {Mut, Avoid}.

mod(M) -> binary_to_atom(M, utf8).
typ(T) -> binary_to_atom(T, utf8).

hex_to_bin(Hex) ->
    case byte_size(Hex) rem 2 of
        0 -> binary:decode_hex(Hex);
        1 -> erlang:error({odd_length_hex, byte_size(Hex)})
    end.

bin_to_hex(Bin) -> binary:encode_hex(Bin).

check_module(M) ->
    case code:ensure_loaded(M) of
        {module, M} -> ok;
        _ -> erlang:error({unknown_module, M})
    end.

typeinfo(M, T) ->
    F = list_to_atom("typeinfo_" ++ atom_to_list(T)),
    case erlang:function_exported(M, F, 0) of
        true -> M:F();
        false -> erlang:error({unknown_type, M, T})
    end.

%% decode HEX -> JER of Erlang's decoded value, and the number of bits left
%% over after the value (UPER pads the last octet; so 0..7 normally).
decode(M, T, Hex) ->
    check_module(M),
    _ = typeinfo(M, T),
    Bin = hex_to_bin(Hex),
    DecF = list_to_atom("dec_" ++ atom_to_list(T)),
    {Val, Rest} = M:DecF(Bin),
    case M:jer_encode(T, jerfix(typeinfo(M, T), Val)) of
        {ok, Json} ->
            out([<<"OK {\"jer\":">>, Json, <<",\"restBits\":">>,
                 integer_to_binary(bit_size(Rest)), $}]);
        {error, E} ->
            out([<<"ERR jer_encode ">>, fmt_err(E)])
    end.

encode(M, T, Json) ->
    check_module(M),
    _ = typeinfo(M, T),
    case M:jer_decode(T, Json) of
        {ok, Val} ->
            case M:encode(T, Val) of
                {ok, Bin} -> out([<<"OK ">>, bin_to_hex(Bin)]);
                {error, E} -> out([<<"ERR encode ">>, fmt_err(E)])
            end;
        {error, E} -> out([<<"ERR jer_decode ">>, fmt_err(E)])
    end.

bench(M, T, Hex, N) when N > 0 ->
    check_module(M),
    Bin = hex_to_bin(Hex),
    {ok, Val} = M:decode(T, Bin),
    {ok, Bin2} = M:encode(T, Val),
    W = min(N, 500),
    repeat(W, fun() -> M:decode(T, Bin) end),
    repeat(W, fun() -> M:encode(T, Val) end),
    T0 = erlang:monotonic_time(nanosecond),
    repeat(N, fun() -> {ok, _} = M:decode(T, Bin) end),
    T1 = erlang:monotonic_time(nanosecond),
    repeat(N, fun() -> {ok, _} = M:encode(T, Val) end),
    T2 = erlang:monotonic_time(nanosecond),
    Dec = T1 - T0, Enc = T2 - T1,
    out([<<"OK {\"iterations\":">>, integer_to_binary(N),
         <<",\"bytes\":">>, integer_to_binary(byte_size(Bin)),
         <<",\"reencodeSame\":">>, atom_to_binary(Bin2 =:= Bin, utf8),
         <<",\"decodeNs\":">>, integer_to_binary(Dec),
         <<",\"encodeNs\":">>, integer_to_binary(Enc),
         <<",\"decodePerSec\":">>, rate(N, Dec),
         <<",\"encodePerSec\":">>, rate(N, Enc),
         <<",\"otp\":\"">>, list_to_binary(erlang:system_info(otp_release)),
         <<"\"}">>]).

rate(N, Ns) -> float_to_binary(N * 1.0e9 / max(Ns, 1), [{decimals, 1}]).

repeat(0, _) -> ok;
repeat(N, F) -> F(), repeat(N - 1, F).

types_json() ->
    Dir = get(rsu_ebin),
    Beams = filelib:wildcard(filename:join(Dir, "*.beam")),
    Mods = [list_to_atom(filename:basename(B, ".beam")) || B <- Beams],
    Entries =
        [{atom_to_binary(M, utf8),
          lists:sort([list_to_binary(lists:nthtail(9, atom_to_list(F)))
                      || {F, 0} <- M:module_info(exports),
                         lists:prefix("typeinfo_", atom_to_list(F))])}
         || M <- Mods, is_asn1_module(M)],
    jsx:encode(maps:from_list(Entries)).

is_asn1_module(M) ->
    {module, M} =:= code:ensure_loaded(M) andalso
        erlang:function_exported(M, jer_encode, 2).

%%% --------------------------------------------------------------- random

random(M, T, N, Seed, Mut) ->
    random(M, T, N, Seed, Mut, none).

%% Frame =:= none | {FrameModule, FrameType, IdField, ValueField, Id}
random(M, T, N, Seed, Mut, Frame) ->
    check_module(M),
    Info = typeinfo(M, T),
    case Frame of
        none -> ok;
        {FM, FT, _, _, _} -> check_module(FM), _ = typeinfo(FM, FT)
    end,
    rand:seed(exsss, Seed),
    put(removed_open, 0),
    put(removed_avoided, 0),
    T0 = erlang:monotonic_time(microsecond),
    {Attempts, Dropped} = random_loop(M, T, Info, N, Mut, Frame, 0, #{},
                                      N * ?MAX_ATTEMPTS_FACTOR + 10),
    T1 = erlang:monotonic_time(microsecond),
    DroppedJson = jsx:encode(Dropped),
    Got = Attempts - lists:sum([C || {K, C} <- maps:to_list(Dropped), K =/= <<"gaveUp">>]),
    out([<<"OK {\"n\":">>, integer_to_binary(Got),
         <<",\"attempts\":">>, integer_to_binary(Attempts),
         <<",\"dropped\":">>, DroppedJson,
         <<",\"removedOpenTypeFields\":">>, integer_to_binary(get(removed_open)),
         <<",\"removedAvoidedFields\":">>, integer_to_binary(get(removed_avoided)),
         <<",\"ms\":">>, integer_to_binary((T1 - T0) div 1000), $}]).

random_loop(_M, _T, _Info, 0, _Mut, _Fr, Att, Dropped, _Max) -> {Att, Dropped};
random_loop(_M, _T, _Info, _N, _Mut, _Fr, Att, Dropped, Max) when Att >= Max ->
    {Att, Dropped#{<<"gaveUp">> => 1}};
random_loop(M, T, Info, N, Mut, Frame, Att, Dropped, Max) ->
    case draw(M, T, Info, Mut) of
        {ok, Bin, Json, V2} ->
            case framed(Frame, M, T, Bin, Json, V2) of
                {ok, FBin, FJson} ->
                    out([<<"V ">>, bin_to_hex(FBin), $\s, FJson]),
                    random_loop(M, T, Info, N - 1, Mut, Frame, Att + 1, Dropped, Max);
                {drop, Why} ->
                    random_loop(M, T, Info, N, Mut, Frame, Att + 1, bump(Why, Dropped), Max)
            end;
        {drop, Why} ->
            random_loop(M, T, Info, N, Mut, Frame, Att + 1, bump(Why, Dropped), Max)
    end.

bump(Why, Dropped) -> maps:update_with(Why, fun(C) -> C + 1 end, 1, Dropped).

%% Wrap the inner value in a frame whose value field is an open type
%% (J2735 MessageFrame {messageId, value}). Erlang encodes the typed inner
%% value through the table constraint; its JER code cannot print open types,
%% so the JER is composed here: X.697 puts the inner value's JER in place.
framed(none, _M, _T, Bin, Json, _V2) -> {ok, Bin, Json};
framed({FM, FT, IdF, ValF, Id}, M, T, Bin, Json, V2) ->
    case catch FM:encode(FT, #{IdF => Id, ValF => V2}) of
        {ok, FBin} ->
            case catch FM:decode(FT, FBin) of
                {ok, #{IdF := Id, ValF := V3}} ->
                    case M:encode(T, V3) of
                        {ok, Bin} ->
                            {ok, FBin, [${, jsx:encode(atom_to_binary(IdF, utf8)), $:,
                                        integer_to_binary(Id), $,,
                                        jsx:encode(atom_to_binary(ValF, utf8)), $:,
                                        Json, $}]};
                        _ -> {drop, <<"frameInnerDiffers">>}
                    end;
                _ -> {drop, <<"frameDecodeFailed">>}
            end;
        _ -> {drop, <<"frameEncodeFailed">>}
    end.

draw(M, T, Info, Mut) ->
    case catch asn1ct_value:from_type(M, T) of
        {'EXIT', _} -> restart_db_if_dead(), {drop, <<"valueGenerationFailed">>};
        {error, _} -> {drop, <<"valueGenerationFailed">>};
        V0 ->
            case catch strip(Info, V0) of
                open_type -> {drop, <<"openTypeNotRemovable">>};
                avoided -> {drop, <<"avoidedFieldNotRemovable">>};
                {'EXIT', _} -> {drop, <<"stripFailed">>};
                V1 ->
                    Candidates =
                        case Mut of
                            true ->
                                [fun() -> mutate(Info, V1, true) end,
                                 fun() -> mutate(Info, V1, false) end,
                                 fun() -> V1 end];
                            false -> [fun() -> V1 end]
                        end,
                    try_encode(M, T, Info, Candidates)
            end
    end.

try_encode(_M, _T, _Info, []) -> {drop, <<"encodeFailed">>};
try_encode(M, T, Info, [F | Rest]) ->
    V = F(),
    case M:encode(T, V) of
        {ok, Bin} ->
            case M:decode(T, Bin) of
                {ok, V2} ->
                    case M:encode(T, V2) of
                        {ok, Bin} ->
                            case M:jer_encode(T, jerfix(Info, V2)) of
                                {ok, Json} -> {ok, Bin, Json, V2};
                                _ -> {drop, <<"jerEncodeFailed">>}
                            end;
                        _ -> {drop, <<"reencodeDiffers">>}
                    end;
                _ -> {drop, <<"decodeFailed">>}
            end;
        {error, _} -> try_encode(M, T, Info, Rest)
    end.

%% strip(TypeInfo, Value) -> Value without open-type values, or throw open_type
strip({typeinfo, {M, F}}, V) -> strip(M:F(), V);
strip({sequence_map, Sname, _, Comps}, V) when is_map(V) ->
    Avoid = case get(avoid) of undefined -> []; Av -> Av end,
    lists:foldl(
      fun({_, A, Ty, Opt}, Acc) ->
              case Acc of
                  #{A := X} ->
                      case lists:member({Sname, A}, Avoid) of
                          true when Opt =/= mandatory ->
                              put(removed_avoided, get(removed_avoided) + 1),
                              maps:remove(A, Acc);
                          true ->
                              throw(avoided);     % let an enclosing OPTIONAL go
                          false ->
                              try strip(Ty, X) of
                                  X2 -> Acc#{A := X2}
                              catch
                                  throw:Tag when (Tag =:= open_type orelse Tag =:= avoided),
                                                 Opt =/= mandatory ->
                                      count_removed(Tag),
                                      maps:remove(A, Acc)
                              end
                      end;
                  _ -> Acc
              end
      end, V, Comps);
strip({sof, Ty}, L) when is_list(L) ->
    Kept = lists:filtermap(
             fun(X) ->
                     try {true, strip(Ty, X)}
                     catch throw:Tag when Tag =:= open_type; Tag =:= avoided ->
                             count_removed(Tag),
                             put(last_removed, Tag),
                             false
                     end
             end, L),
    case {L, Kept} of
        {[_ | _], []} -> throw(get(last_removed));
        _ -> Kept
    end;
strip({choice, Alts}, {A, X}) when is_atom(A) ->
    case maps:find(atom_to_binary(A, utf8), Alts) of
        {ok, Ty} -> {A, strip(Ty, X)};
        error -> throw(open_type)           % {asn1_ExtAlt, Bin}
    end;
strip({'ObjClassFieldType', _, _}, _) -> throw(open_type);
strip('ASN1_OPEN_TYPE', _) -> throw(open_type);
strip(_, V) -> V.

count_removed(open_type) -> put(removed_open, get(removed_open) + 1);
count_removed(avoided) -> put(removed_avoided, get(removed_avoided) + 1).

%% mutate(TypeInfo, Value, MutateStrings) -> Value with leaves randomised.
mutate({typeinfo, {M, F}}, V, S) -> mutate(M:F(), V, S);
mutate({sequence_map, _, _, Comps}, V, S) when is_map(V) ->
    lists:foldl(
      fun({_, A, Ty, Opt}, Acc) ->
              case Acc of
                  #{A := X} ->
                      case Opt =/= mandatory andalso rand:uniform(4) =:= 1 of
                          true -> maps:remove(A, Acc);
                          false -> Acc#{A := mutate(Ty, X, S)}
                      end;
                  _ -> Acc
              end
      end, V, Comps);
mutate({sof, Ty}, L, S) when is_list(L) -> [mutate(Ty, X, S) || X <- L];
mutate({choice, Alts}, {A, X}, S) when is_atom(A) ->
    case maps:find(atom_to_binary(A, utf8), Alts) of
        {ok, Ty} -> {A, mutate(Ty, X, S)};
        error -> {A, X}
    end;
mutate('BOOLEAN', _, _) -> rand:uniform(2) =:= 1;
mutate({'BOOLEAN', _}, _, _) -> rand:uniform(2) =:= 1;
mutate(octet_string, B, _) when is_binary(B) -> rand_bytes(byte_size(B));
mutate({octet_string, _}, B, _) when is_binary(B) -> rand_bytes(byte_size(B));
mutate(bit_string, B, _) when is_bitstring(B) -> rand_bits(bit_size(B));
mutate({bit_string, _}, B, _) when is_bitstring(B) -> rand_bits(bit_size(B));
mutate({bit_string_nnl, NNL}, L, _) when is_list(L) -> rand_names(NNL);
mutate({{bit_string_nnl, NNL}, _}, L, _) when is_list(L) -> rand_names(NNL);
mutate(string, Str, true) when is_list(Str) -> rand_string(Str);
mutate({string, _}, Str, true) when is_list(Str) -> rand_string(Str);
mutate(_, V, _) -> V.

rand_bytes(N) -> << <<(rand:uniform(256) - 1)>> || _ <- lists:seq(1, N) >>.
rand_bits(N) -> << <<(rand:uniform(2) - 1):1>> || _ <- lists:seq(1, N) >>.
rand_names(NNL) -> [Name || {Name, _} <- NNL, rand:uniform(2) =:= 1].
%% Random 7-bit characters (1 in 16 a control character or DEL, to exercise
%% JSON escaping), same length as drawn (asn1ct_value draws lb..lb+4); with
%% p=1/8 a random length in 1..300 instead (the size constraint is not known
%% here: if it is violated the encode fails and draw/4 falls back to a
%% candidate without string mutation). Code points > 127 are left alone
%% (only IA5String occurs in the CSAE and J2735 sets).
rand_string(Str) ->
    Str1 = case rand:uniform(8) of
               1 -> lists:duplicate(rand:uniform(300), $a);
               _ -> Str
           end,
    [case C < 128 of
         true -> rand_char();
         false -> C
     end || C <- Str1].

rand_char() ->
    case rand:uniform(16) of
        1 -> case rand:uniform(33) of 33 -> 127; K -> K - 1 end;
        _ -> 31 + rand:uniform(95)
    end.

%% jerfix(TypeInfo, DecodedValue): work around an OTP 25 JER bug. A BIT STRING
%% with named bits decodes to a list of names; the generated encode_jer turns
%% that list into an iolist instead of a bitstring when a bit at position >= 8
%% is set, and then crashes ({encode,{bit_string,16}},[<<0>>,1]}). We convert
%% the list ourselves into the bitstring OTP meant to produce: its length is
%% (highest set bit + 1), i.e. trailing zero bits dropped (X.680 22.7: they
%% carry no meaning for a named-bit BIT STRING); fixed-size types are then
%% padded to their size by the generated code as before.
jerfix({typeinfo, {M, F}}, V) -> jerfix(M:F(), V);
jerfix({sequence_map, _, _, Comps}, V) when is_map(V) ->
    lists:foldl(
      fun({_, A, {'ObjClassFieldType', {IdF, _}, _}, _}, Acc) ->
              case Acc of
                  #{A := X} -> Acc#{A := open_type_json(maps:get(IdF, Acc, undefined), X)};
                  _ -> Acc
              end;
         ({_, A, Ty, _}, Acc) ->
              case Acc of
                  #{A := X} -> Acc#{A := jerfix(Ty, X)};
                  _ -> Acc
              end
      end, V, Comps);
jerfix({sof, Ty}, L) when is_list(L) -> [jerfix(Ty, X) || X <- L];
jerfix({choice, Alts}, {A, X}) when is_atom(A) ->
    case maps:find(atom_to_binary(A, utf8), Alts) of
        {ok, Ty} -> {A, jerfix(Ty, X)};
        error -> {A, X}
    end;
jerfix({bit_string_nnl, NNL}, L) when is_list(L) -> names_to_bits(L, NNL);
jerfix({{bit_string_nnl, NNL}, _}, L) when is_list(L) -> names_to_bits(L, NNL);
jerfix({compact_bit_string_nnl, NNL}, L) when is_list(L) -> names_to_bits(L, NNL);
jerfix({{compact_bit_string_nnl, NNL}, _}, L) when is_list(L) -> names_to_bits(L, NNL);
jerfix(_, V) -> V.

names_to_bits(L, NNL) ->
    Pos = [case X of
               {bit, P} -> P;
               Name -> {Name, P} = lists:keyfind(Name, 1, NNL), P
           end || X <- L],
    case Pos of
        [] -> <<>>;
        _ ->
            Len = lists:max(Pos) + 1,
            << <<(case lists:member(I, Pos) of true -> 1; false -> 0 end):1>>
               || I <- lists:seq(0, Len - 1) >>
    end.

%% A decoded open-type value: Erlang decodes it to the typed value when the id
%% is in the table constraint's object set, else leaves the bytes. The
%% generated JER code cannot print either, so we print it here and hand the
%% JSON text to the jsx shim wrapped in a marker binary that it copies
%% verbatim. Typed value: the JER of the first candidate type (from the
%% `opentypes` table, by id value) that accepts it (X.697: an open type is
%% encoded as the JER of the contained value). Bytes: a JSON string of hex.
open_type_json(_Id, X) when is_binary(X) ->
    jsx:raw(jsx:encode(bin_to_hex(X)));
open_type_json(Id, X) ->
    Cands = maps:get(Id, case get(opentypes) of undefined -> #{}; Tb -> Tb end, []),
    try_open_types(Cands, X).

try_open_types([], X) -> X;    % leave it: jer_encode reports the error
try_open_types([{M, T} | Rest], X) ->
    case catch M:jer_encode(T, jerfix(typeinfo(M, T), X)) of
        {ok, Json} -> jsx:raw(Json);
        _ -> try_open_types(Rest, X)
    end.
