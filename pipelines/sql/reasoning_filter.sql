-- Rejection sampling (R1 §2.3.3) over scored rollouts: one reason per dropped row, NULL = kept.
-- Narrow columns only (text stays in the parent); the builder joins kept rows back for the text.
with scored as (
    select problem_id, sample_idx, domain, difficulty, language, finish_reason, verdict, correct,
           language_consistent, readability_issue, completion_tokens, completion_hash
    from {{ ref('scored') }}
),

judged as (
    -- prompts without a rule-checkable answer are judged by an LLM against the ground truth
    select problem_id, sample_idx, correct as judge_correct from {{ ref('judgements') }}
),

flagged as (
    select s.*,
        case
            when s.finish_reason = 'length' then 'overlong'
            when s.finish_reason = 'error' then 'generation_error'
            when s.verdict = 'unverifiable' then 'unverifiable_gold'
            when coalesce(s.correct, j.judge_correct) is null then 'no_verdict'
            when not coalesce(s.correct, j.judge_correct) then 'wrong'
            when not s.language_consistent then 'mixed_language'
            when s.readability_issue is not null then s.readability_issue
            when s.completion_tokens > {{ var('max_completion_tokens') }} then 'too_long'
        end as reason,
        hash(s.problem_id, s.sample_idx, {{ var('seed') }}) as draw
    from scored s left join judged j using (problem_id, sample_idx)
),

deduped as (
    -- identical completions of one prompt count once
    select *,
        case when reason is null
             and row_number() over (partition by problem_id, completion_hash, reason is null order by sample_idx) > 1
             then 'duplicate_completion' else reason end as reason2
    from flagged
),

capped as (
    -- at most k kept samples per problem, drawn deterministically
    select *,
        case when reason2 is null
             and row_number() over (partition by problem_id, reason2 is null order by draw) > {{ var('max_per_problem') }}
             then 'over_per_problem_cap' else reason2 end as reason3
    from deduped
),

strata as (
    -- stratify by domain and difficulty: each stratum keeps its share of the target
    select *,
        row_number() over (partition by domain, difficulty, reason3 is null order by draw) as stratum_rank,
        count(*) over (partition by domain, difficulty, reason3 is null) as stratum_size,
        count(*) over (partition by reason3 is null) as kept_size
    from capped
),

ranked as (
    select *,
        row_number() over (partition by reason3 is null
                           order by stratum_rank / stratum_size, draw) as global_rank
    from strata
),

final as (
    select problem_id, sample_idx, domain, difficulty, language,
        case when reason3 is null and global_rank > {{ var('target') }} then 'over_target' else reason3 end as reason
    from ranked
)

select * from final
