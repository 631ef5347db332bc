-- Cold-start filter (R1 §2.3.1): readable, correct, single-language long CoT; one sample per prompt.
with scored as (
    select problem_id, sample_idx, domain, difficulty, language, finish_reason, verdict, correct, format_ok,
           language_consistent, readability_issue
    from {{ ref('scored') }}
),

flagged as (
    select *,
        case
            when finish_reason = 'length' then 'overlong'
            when finish_reason = 'error' then 'generation_error'
            when not format_ok then 'unreadable_format'
            when verdict = 'unverifiable' then 'unverifiable_gold'
            when correct is null then 'no_verdict'
            when not correct then 'wrong'
            when not language_consistent then 'mixed_language'
            when readability_issue is not null then readability_issue
        end as reason,
        hash(problem_id, sample_idx, {{ var('seed') }}) as draw
    from scored
),

capped as (
    select *,
        case when reason is null
             and row_number() over (partition by problem_id, reason is null order by draw) > 1
             then 'over_per_problem_cap' else reason end as reason2
    from flagged
),

final as (
    select problem_id, sample_idx, domain, difficulty, language,
        case when reason2 is null
             and row_number() over (partition by reason2 is null order by draw) > {{ var('target') }}
             then 'over_target' else reason2 end as reason
    from capped
)

select * from final
