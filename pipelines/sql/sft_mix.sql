-- The 800k SFT mix (R1 §2.3.3): reasoning ∪ non-reasoning, deterministically shuffled.
with reasoning as (
    select sample_id, messages, category, problem_id, source, has_cot from {{ ref('reasoning') }}
),

non_reasoning as (
    select sample_id, messages, category, problem_id, source, has_cot from {{ ref('non-reasoning') }}
),

unioned as (
    select *, 'reasoning' as subset from reasoning
    union all
    select *, 'non-reasoning' as subset from non_reasoning
),

final as (
    select * from unioned order by hash(sample_id, subset, {{ var('seed') }}), sample_id
)

select * from final
